import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { call, storedKey, storeKey } from "./api";
import { Instances } from "./instances";
import { InstancePage } from "./instance";
import { Logs } from "./logs";
import { StatsPage } from "./stats";
import { ErrorText, Field, useAction } from "./ui";
import "./style.css";

// Screens live in the URL's fragment (#/instances, #/instance/<id>, #/logs?status=failed),
// so the page is one route on the server and the browser's history works.
function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => {
    const h = location.hash.replace(/^#/, "") || "/instances";
    const [path, q] = h.split("?");
    return { path, query: new URLSearchParams(q ?? "") };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  // Each new screen moves the focus to its heading, for keyboard and screen reader users.
  useEffect(() => {
    const h = document.querySelector<HTMLElement>("main h1");
    h?.focus();
  }, [route.path]);
  return route;
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState("");
  const signIn = useAction(async () => {
    // The key is checked with a call that reads as little as possible; it is kept only if
    // the API takes it.
    await call("GET", "/api/instances", { query: { limit: 1 }, key });
    storeKey(key);
    onSignedIn();
  });
  return (
    <main id="main">
      <section aria-labelledby="signin-h" class="signin">
        <h1 id="signin-h" tabIndex={-1}>
          Sign in to the wagate console
        </h1>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            signIn.run();
          }}
        >
          <Field label="API key" id="api-key" hint="The key is kept in this tab's session storage and sent as X-API-Key with every call.">
            <input
              id="api-key"
              type="password"
              autoComplete="off"
              required
              value={key}
              aria-describedby="api-key-hint"
              onInput={(e) => setKey(e.currentTarget.value)}
            />
          </Field>
          <button type="submit" disabled={signIn.busy || !key}>
            {signIn.busy ? "Checking…" : "Sign in"}
          </button>
        </form>
        <ErrorText error={signIn.error} />
      </section>
    </main>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(() => storedKey() !== null);
  const route = useRoute();
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const link = (href: string, label: string, active: boolean) => (
    <a href={href} aria-current={active ? "page" : undefined}>
      {label}
    </a>
  );
  let screen;
  const m = route.path.match(/^\/instance\/(.+)$/);
  if (m) screen = <InstancePage key={m[1]} id={decodeURIComponent(m[1])} />;
  else if (route.path === "/logs")
    screen = <Logs key={route.query.toString()} initial={{ instanceId: route.query.get("instanceId") ?? "", status: route.query.get("status") ?? "", event: route.query.get("event") ?? "" }} />;
  else if (route.path === "/stats") screen = <StatsPage key={route.query.toString()} initial={{ instanceId: route.query.get("instanceId") ?? "" }} />;
  else screen = <Instances />;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.querySelector<HTMLElement>("main h1")?.focus(); }}>
        Skip to the content
      </a>
      <header>
        <span class="brand">wagate console</span>
        <nav aria-label="Screens">
          {link("#/instances", "Instances", route.path === "/instances" || route.path.startsWith("/instance/"))}
          {link("#/logs", "Webhook logs", route.path === "/logs")}
          {link("#/stats", "Statistics", route.path === "/stats")}
        </nav>
        <button
          class="signout"
          onClick={() => {
            storeKey(null);
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">{screen}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);

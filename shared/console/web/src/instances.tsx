import { useState } from "preact/hooks";
import { api, Instance } from "./api";
import { ConfirmButton, ErrorText, Field, Status, useAction, usePoll } from "./ui";

// The instances: list (with each one's connection status, kept current), create, delete.
export function Instances() {
  const [list, setList] = useState<Instance[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [notice, setNotice] = useState("");
  const page = pages[pages.length - 1];

  // The listing shows settings; each instance's session status comes from reading it.
  const load = async () => {
    try {
      const r = await api.get<Instance[]>("/api/instances", { limit: 20, cursor: page });
      const detailed = await Promise.all(
        r.data.map((i) => api.get<Instance>(`/api/instance/${encodeURIComponent(i.id)}`).then((d) => d.data, () => i)),
      );
      setList(detailed);
      setCursor(r.nextCursor);
      setLoadError(null);
    } catch (e) {
      setLoadError(e);
    }
  };
  usePoll(load, 3000, [page]);

  const [name, setName] = useState("");
  const [id, setId] = useState("");
  const [url, setUrl] = useState("");
  const [created, setCreated] = useState<Instance | null>(null);
  const create = useAction(async () => {
    const body: Record<string, string> = {};
    if (name) body.name = name;
    if (id) body.instanceId = id;
    if (url) body.webhookUrl = url;
    const r = await api.post<Instance>("/api/instance", body);
    setCreated(r.data);
    setName("");
    setId("");
    setUrl("");
    await load();
  });
  const del = useAction(async (target: string) => {
    await api.del(`/api/instance/${encodeURIComponent(target)}`);
    setConfirm(null);
    setNotice(`Instance ${target} was deleted.`);
    await load();
  });

  return (
    <section aria-labelledby="instances-h">
      <h1 id="instances-h" tabIndex={-1}>
        Instances
      </h1>
      <p class="sr-status" role="status">
        {notice}
      </p>
      <ErrorText error={loadError} />
      {list === null && !loadError && <p>Loading…</p>}
      {list && list.length === 0 && <p>No instances yet: create one below.</p>}
      {list && list.length > 0 && (
        <table>
          <caption>Instances, by id, with their connection status</caption>
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Phone</th>
              <th scope="col">Webhook URL</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((i) => (
              <tr key={i.id} data-instance={i.id}>
                <td>
                  <a href={`#/instance/${encodeURIComponent(i.id)}`}>{i.id}</a>
                </td>
                <td>{i.name}</td>
                <td>
                  <Status value={i.session?.status} />
                </td>
                <td>{i.session?.phoneNumber ?? ""}</td>
                <td class="url">{i.webhookUrl ?? "off"}</td>
                <td>
                  {confirm === i.id ? (
                    <span role="group" aria-label={`Confirm deleting ${i.id}`}>
                      Delete {i.id} and its secrets?{" "}
                      <ConfirmButton disabled={del.busy} onClick={() => del.run(i.id)}>
                        Yes, delete {i.id}
                      </ConfirmButton>{" "}
                      <button onClick={() => setConfirm(null)}>Cancel</button>
                    </span>
                  ) : (
                    <button onClick={() => setConfirm(i.id)} aria-label={`Delete ${i.id}`}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorText error={del.error} />
      <nav class="pager" aria-label="Instance pages">
        <button disabled={pages.length < 2} onClick={() => setPages(pages.slice(0, -1))}>
          Previous page
        </button>
        <button disabled={!cursor} onClick={() => setPages([...pages, cursor])}>
          Next page
        </button>
      </nav>

      <h2>Create an instance</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.run();
        }}
      >
        <Field label="Name (optional)" id="new-name">
          <input id="new-name" value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Instance id (optional)" id="new-id" hint="Letters, digits, _ and -; the API picks one when empty.">
          <input id="new-id" value={id} pattern="[A-Za-z0-9_\-]{1,64}" aria-describedby="new-id-hint" onInput={(e) => setId(e.currentTarget.value)} />
        </Field>
        <Field label="Webhook URL (optional)" id="new-url">
          <input id="new-url" type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={create.busy}>
          {create.busy ? "Creating…" : "Create instance"}
        </button>
      </form>
      <ErrorText error={create.error} />
      {created && (
        <div class="notice" role="status">
          <p>
            Created <a href={`#/instance/${encodeURIComponent(created.id)}`}>{created.id}</a>. Its webhook signing secret, shown this once
            (the instance's page can read it again):
          </p>
          <code class="secret">{created.webhookSecret}</code>
          <p>
            <a href={`#/instance/${encodeURIComponent(created.id)}`}>Pair {created.id} with a phone</a>
          </p>
        </div>
      )}
    </section>
  );
}

import { useState } from "preact/hooks";
import { api, EVENTS, Instance } from "./api";
import { ConfirmButton, ErrorText, Field, Json, Status, time, useAction, usePoll } from "./ui";

const enc = encodeURIComponent;

interface QR {
  qr: string;
  qrExpiresAt: string;
  image: string;
  status: string;
}

// One instance: its connection and pairing, its webhook settings and secret, and a composer.
export function InstancePage({ id }: { id: string }) {
  const [inst, setInst] = useState<Instance | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [history, setHistory] = useState<string[]>([]);
  usePoll(
    async () => {
      try {
        const r = await api.get<Instance>(`/api/instance/${enc(id)}`);
        setInst(r.data);
        setError(null);
        const s = r.data.session?.status ?? "not started";
        setHistory((h) => (h[h.length - 1] === s ? h : [...h, s].slice(-8)));
      } catch (e) {
        setError(e);
      }
    },
    2000,
    [id],
  );
  return (
    <section aria-labelledby="instance-h">
      <h1 id="instance-h" tabIndex={-1}>
        Instance {id}
      </h1>
      <p>
        <a href="#/instances">All instances</a> · <a href={`#/logs?instanceId=${enc(id)}`}>Its webhook logs</a> ·{" "}
        <a href={`#/stats?instanceId=${enc(id)}`}>Its statistics</a>
      </p>
      <ErrorText error={error} />
      {inst && (
        <>
          <Connection inst={inst} history={history} />
          <WebhookSettings inst={inst} onSaved={setInst} />
          <Secret id={id} />
          <Composer id={id} connected={inst.session?.status === "connected"} />
        </>
      )}
    </section>
  );
}

function Connection({ inst, history }: { inst: Instance; history: string[] }) {
  const status = inst.session?.status ?? null;
  const paired = status === "connected" || (inst.session?.phoneNumber ?? null) !== null;
  return (
    <section aria-labelledby="conn-h" class="card">
      <h2 id="conn-h">Connection</h2>
      <p role="status" aria-live="polite">
        Status: <Status value={status} />
        {inst.session?.phoneNumber && <> · phone {inst.session.phoneNumber}</>}
      </p>
      <p class="hint">Seen on this page: {history.join(" → ")}</p>
      {!paired && <Pairing id={inst.id} />}
    </section>
  );
}

// Pairing: the live QR code, read again as WhatsApp rotates it, or a pairing code for a number.
function Pairing({ id }: { id: string }) {
  const [qr, setQr] = useState<QR | null>(null);
  const [qrError, setQrError] = useState<unknown>(null);
  usePoll(
    async () => {
      try {
        const r = await api.get<QR>(`/api/instance/${enc(id)}/qr`);
        setQr(r.data);
        setQrError(null);
      } catch (e) {
        setQr(null);
        setQrError(e);
      }
    },
    3000,
    [id],
  );
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState<string | null>(null);
  const pair = useAction(async () => {
    setCode(null);
    const r = await api.post<{ pairingCode: string }>(`/api/instance/${enc(id)}/pair`, { phoneNumber: phone });
    setCode(r.data.pairingCode);
  });
  return (
    <div class="pairing">
      <div>
        <h3>Scan the QR code</h3>
        <p class="hint">On the phone: WhatsApp → Linked devices → Link a device. The code changes every 20 to 60 seconds; this page follows it.</p>
        {qr ? (
          <figure>
            <img src={qr.image} alt={`QR code that pairs ${id}; valid until ${time(qr.qrExpiresAt)}`} width={256} height={256} class="qr" />
            <figcaption>Valid until {time(qr.qrExpiresAt)}</figcaption>
            <details>
              <summary>The code as text</summary>
              <code class="qr-text" data-testid="qr-text">
                {qr.qr}
              </code>
            </details>
          </figure>
        ) : (
          <ErrorText error={qrError} />
        )}
      </div>
      <div>
        <h3>Or link with a phone number</h3>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            pair.run();
          }}
        >
          <Field label="Phone number (international)" id="pair-phone">
            <input id="pair-phone" inputMode="tel" value={phone} placeholder="+6281234567890" onInput={(e) => setPhone(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={pair.busy}>
            {pair.busy ? "Asking the session host… (up to 20 s)" : "Get a pairing code"}
          </button>
        </form>
        <ErrorText error={pair.error} />
        {code && (
          <p role="status">
            Enter <strong class="code">{code}</strong> on the phone: Linked devices → Link with phone number.
          </p>
        )}
      </div>
    </div>
  );
}

function WebhookSettings({ inst, onSaved }: { inst: Instance; onSaved: (i: Instance) => void }) {
  const [url, setUrl] = useState(inst.webhookUrl ?? "");
  const [events, setEvents] = useState<string[]>(inst.webhookEvents);
  const [saved, setSaved] = useState("");
  const save = useAction(async () => {
    const r = await api.put<Instance>(`/api/instance/${enc(inst.id)}`, { webhookUrl: url, webhookEvents: events });
    onSaved(r.data);
    setSaved(`Saved at ${new Date().toLocaleTimeString()}: webhooks ${r.data.webhookUrl ? "go to " + r.data.webhookUrl : "are off"}.`);
  });
  const [answer, setAnswer] = useState<any>(null);
  const test = useAction(async () => {
    setAnswer(null);
    const r = await api.post<any>("/api/webhook/test", { instanceId: inst.id });
    setAnswer(r.data);
  });
  const toggle = (e: string, on: boolean) => setEvents(on ? [...events, e] : events.filter((x) => x !== e));
  return (
    <section aria-labelledby="wh-h" class="card">
      <h2 id="wh-h">Webhook</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.run();
        }}
      >
        <Field label="Webhook URL" id="wh-url" hint="Empty turns webhooks off.">
          <input id="wh-url" type="url" value={url} aria-describedby="wh-url-hint" onInput={(e) => setUrl(e.currentTarget.value)} />
        </Field>
        <fieldset>
          <legend>Events (none checked: every event)</legend>
          {EVENTS.map((e) => (
            <label key={e} class="check">
              <input type="checkbox" checked={events.includes(e)} onChange={(ev) => toggle(e, ev.currentTarget.checked)} /> {e}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={save.busy}>
          Save webhook settings
        </button>{" "}
        <button type="button" disabled={test.busy || !inst.webhookUrl} onClick={() => test.run()}>
          {test.busy ? "Sending a test…" : "Send a test webhook"}
        </button>
      </form>
      <p role="status">{saved}</p>
      <ErrorText error={save.error} />
      <ErrorText error={test.error} />
      {answer && (
        <div class="answer" role="status" data-testid="test-answer">
          <p>
            Test {answer.webhookId}: {answer.delivered ? "delivered" : "not delivered"}
            {answer.statusCode ? `, HTTP ${answer.statusCode}` : ""}, {answer.durationMs} ms{answer.error ? `: ${answer.error}` : ""}
          </p>
          <Json value={answer.response} label="The endpoint's answer" />
        </div>
      )}
    </section>
  );
}

interface Secrets {
  webhookSecret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: string | null;
}

function Secret({ id }: { id: string }) {
  const [secrets, setSecrets] = useState<Secrets | null>(null);
  const [confirm, setConfirm] = useState(false);
  const show = useAction(async () => setSecrets((await api.get<Secrets>(`/api/instance/${enc(id)}/webhook-secret`)).data));
  const rotate = useAction(async () => {
    setSecrets((await api.post<Secrets>(`/api/instance/${enc(id)}/webhook-secret/rotate`)).data);
    setConfirm(false);
  });
  return (
    <section aria-labelledby="secret-h" class="card">
      <h2 id="secret-h">Signing secret</h2>
      <p class="hint">
        Webhooks are signed with Standard Webhooks. Rotating makes a new secret current; for the next 24 hours each webhook carries two
        signatures, one with the new secret and one with the previous, so receivers can switch without losing a webhook.
      </p>
      {secrets ? (
        <div role="status" data-testid="secrets">
          <p>
            Current: <code class="secret">{secrets.webhookSecret}</code>
          </p>
          {secrets.previousSecret && (
            <p>
              Previous, still signing until {time(secrets.previousSecretExpiresAt)}: <code class="secret">{secrets.previousSecret}</code>
            </p>
          )}
          <button onClick={() => setSecrets(null)}>Hide the secret</button>
        </div>
      ) : (
        <button onClick={() => show.run()} disabled={show.busy}>
          Show the secret
        </button>
      )}{" "}
      {confirm ? (
        <span role="group" aria-label="Confirm the rotation">
          Rotate now? The old secret keeps signing for 24 hours.{" "}
          <ConfirmButton onClick={() => rotate.run()} disabled={rotate.busy}>
            Yes, rotate the secret
          </ConfirmButton>{" "}
          <button onClick={() => setConfirm(false)}>Cancel</button>
        </span>
      ) : (
        <button onClick={() => setConfirm(true)}>Rotate the secret</button>
      )}
      <ErrorText error={show.error} />
      <ErrorText error={rotate.error} />
    </section>
  );
}

interface OutboxRecord {
  messageId: string;
  type?: string;
  status: string;
  error?: string | null;
  attempts?: number;
  createdAt?: string;
  sentAt?: string | null;
}

const FINAL = ["read", "played", "failed"];

// The API's limit for a file sent inline (base64 `data` in the message): 128 KiB decoded.
// The page sends files only that way, in the JSON body to its own origin (the CSP's
// connect-src 'self' rules out a presigned S3 upload from the browser).
export const MAX_INLINE_BYTES = 128 * 1024;

type Kind = "text" | "image" | "document";

const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;

// base64 reads a file as standard padded base64, what the API's `data` takes.
function base64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => {
      const url = String(r.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    r.onerror = () => reject(new Error(`${file.name} could not be read: ${r.error?.message ?? "unknown error"}`));
    r.readAsDataURL(file);
  });
}

// A message, text or a file (an image or a document, with a caption), and its outbox status
// as it moves from queued to read.
function Composer({ id, connected }: { id: string; connected: boolean }) {
  const [kind, setKind] = useState<Kind>("text");
  const [to, setTo] = useState("");
  const [body, setBody] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [caption, setCaption] = useState("");
  const [fileName, setFileName] = useState("");
  const [msg, setMsg] = useState<OutboxRecord | null>(null);
  const [steps, setSteps] = useState<string[]>([]);
  const tooLarge = file !== null && file.size > MAX_INLINE_BYTES;
  const send = useAction(async () => {
    setMsg(null);
    setSteps([]);
    let message: Record<string, unknown>;
    if (kind === "text") message = { to, type: "text", text: { body } };
    else {
      if (!file) throw new Error("Choose a file to send.");
      if (tooLarge) throw new Error(tooLargeText(file));
      const media: Record<string, unknown> = { data: await base64(file) };
      if (file.type) media.mimetype = file.type;
      if (caption) media.caption = caption;
      if (kind === "document") media.fileName = fileName || file.name;
      message = { to, type: kind, [kind]: media };
    }
    const r = await api.post<OutboxRecord>(`/api/instance/${enc(id)}/messages`, message, { wait: 0 });
    setMsg(r.data);
    setSteps([r.data.status]);
  });
  usePoll(
    async () => {
      if (!msg || FINAL.includes(msg.status)) return;
      const r = await api.get<OutboxRecord>(`/api/instance/${enc(id)}/messages/${enc(msg.messageId)}`);
      setMsg(r.data);
      setSteps((s) => (s[s.length - 1] === r.data.status ? s : [...s, r.data.status]));
    },
    1000,
    [msg?.messageId, msg && FINAL.includes(msg.status)],
  );
  const choose = (f: File | null) => {
    setFile(f);
    setFileName(f?.name ?? "");
    send.setError(null);
  };
  return (
    <section aria-labelledby="compose-h" class="card">
      <h2 id="compose-h">Send a message</h2>
      {!connected && <p class="hint">The instance is not connected: a message waits in the outbox until it is (or fails after its time to live).</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          send.run();
        }}
      >
        <Field label="To (international number or JID)" id="msg-to">
          <input id="msg-to" value={to} required onInput={(e) => setTo(e.currentTarget.value)} />
        </Field>
        <fieldset>
          <legend>Kind of message</legend>
          {(["text", "image", "document"] as Kind[]).map((k) => (
            <label key={k} class="check">
              <input type="radio" name="msg-kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {k === "text" ? "Text" : k === "image" ? "Image" : "Document"}
            </label>
          ))}
        </fieldset>
        {kind === "text" ? (
          <Field label="Message text" id="msg-body">
            <textarea id="msg-body" value={body} required rows={3} onInput={(e) => setBody(e.currentTarget.value)} />
          </Field>
        ) : (
          <>
            <Field
              label={kind === "image" ? "Image (JPEG or PNG)" : "File"}
              id="msg-file"
              hint={`At most ${kib(MAX_INLINE_BYTES)}: the console sends the file inside the request. Send larger files through the API, by upload or link.`}
            >
              <input
                id="msg-file"
                type="file"
                required
                accept={kind === "image" ? "image/jpeg,image/png" : undefined}
                aria-describedby="msg-file-hint"
                aria-invalid={tooLarge}
                onChange={(e) => choose(e.currentTarget.files?.[0] ?? null)}
              />
            </Field>
            {file && (
              <p class={tooLarge ? "error" : "hint"} role={tooLarge ? "alert" : undefined} data-testid="file-size">
                {tooLarge ? tooLargeText(file) : `${file.name}: ${kib(file.size)}${file.type ? `, ${file.type}` : ""}`}
              </p>
            )}
            {kind === "document" && (
              <Field label="File name shown to the recipient" id="msg-filename">
                <input id="msg-filename" value={fileName} maxLength={255} onInput={(e) => setFileName(e.currentTarget.value)} />
              </Field>
            )}
            <Field label="Caption (optional)" id="msg-caption">
              <textarea id="msg-caption" value={caption} rows={2} maxLength={1024} onInput={(e) => setCaption(e.currentTarget.value)} />
            </Field>
          </>
        )}
        <button type="submit" disabled={send.busy || (kind !== "text" && tooLarge)}>
          {send.busy ? "Sending…" : "Send"}
        </button>
      </form>
      <ErrorText error={send.error} />
      {msg && (
        <div role="status" aria-live="polite" data-testid="outbox">
          <p>
            Message {msg.messageId}
            {msg.type && msg.type !== "text" ? ` (${msg.type})` : ""}: <Status value={msg.status} />
            {msg.error ? ` (${msg.error})` : ""}
          </p>
          <ol class="steps" aria-label="Outbox status so far">
            {steps.map((s) => (
              <li key={s}>{s}</li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}

function tooLargeText(f: File): string {
  return `${f.name} is ${kib(f.size)}, larger than the ${kib(MAX_INLINE_BYTES)} the console can send; it was not sent. Send it through the API by upload (POST /api/instance/{id}/media) or link.`;
}

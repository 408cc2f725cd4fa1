import { useRef, useState } from "preact/hooks";
import { api, ClearResult, Log, LOG_EVENTS, RecoverResult } from "./api";
import { JobProgress } from "./jobs";
import { ApiError } from "./api";
import { ConfirmButton, ErrorText, Field, Json, Status, time, useAction, usePoll } from "./ui";

const enc = encodeURIComponent;

// Page sizes the logs screen offers; the API takes 1 to 100.
const PAGE_SIZES = [10, 20, 50, 100];

export interface LogFilters {
  instanceId: string;
  status: string;
  event: string;
}

// Webhook logs: filters, cursor paging, a row opens the log, retry one, recover a window.
export function Logs({ initial }: { initial: Partial<LogFilters> }) {
  const [filters, setFilters] = useState<LogFilters>({ instanceId: initial.instanceId ?? "", status: initial.status ?? "", event: initial.event ?? "" });
  const [draft, setDraft] = useState<LogFilters>(filters);
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [rows, setRows] = useState<Log[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(true);
  const [open, setOpen] = useState<string | null>(null);
  const [pageSize, setPageSize] = useState(20);
  const [shown, setShown] = useState(0);
  const cursor = pages[pages.length - 1];

  // Only the latest read is shown: a refresh of the first page still under way when the
  // operator pages on must not overwrite the next page.
  const latest = useRef(0);
  const load = async () => {
    const n = ++latest.current;
    const page = pages.length;
    try {
      const r = await api.get<Log[]>("/api/webhook/logs", { ...filters, limit: pageSize, cursor });
      if (n !== latest.current) return;
      setRows(r.data);
      setShown(page);
      setNext(r.nextCursor);
      setError(null);
    } catch (e) {
      if (n === latest.current) setError(e);
    }
  };
  // Only the first page follows new webhooks; later pages stay as they were read.
  usePoll(load, live && cursor === null ? 2000 : 0, [filters, cursor, live, pageSize]);

  return (
    <section aria-labelledby="logs-h">
      <h1 id="logs-h" tabIndex={-1}>
        Webhook logs
      </h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
          setPages([null]);
        }}
      >
        <Field label="Instance" id="f-instance">
          <input id="f-instance" value={draft.instanceId} onInput={(e) => setDraft({ ...draft, instanceId: e.currentTarget.value })} />
        </Field>
        <Field label="Status" id="f-status">
          <select id="f-status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}>
            <option value="">any</option>
            <option>retrying</option>
            <option>success</option>
            <option>failed</option>
          </select>
        </Field>
        <Field label="Event" id="f-event">
          <select id="f-event" value={draft.event} onChange={(e) => setDraft({ ...draft, event: e.currentTarget.value })}>
            <option value="">any</option>
            {LOG_EVENTS.map((e) => (
              <option key={e}>{e}</option>
            ))}
          </select>
        </Field>
        <button type="submit">Apply filters</button>
        <label class="check">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.currentTarget.checked)} /> Refresh the first page every 2 s
        </label>
      </form>
      <ErrorText error={error} />
      {rows && rows.length === 0 && <p>No webhook matches.</p>}
      {rows && rows.length > 0 && (
        <table class="logs" data-page={shown}>
          <caption>Webhooks, newest first. Open one to see its payload and answer.</caption>
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Event</th>
              <th scope="col">Instance</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Answer</th>
              <th scope="col">Webhook</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((l) => (
              <tr key={l.webhookId} data-webhook={l.webhookId} data-event={l.event} data-status={l.status}>
                <td>{time(l.createdAt)}</td>
                <td>{l.event}</td>
                <td>{l.instanceId ?? "(test by URL)"}</td>
                <td>
                  <Status value={l.status} />
                </td>
                <td>{l.attempts}</td>
                <td>{l.statusCode ?? l.error ?? ""}</td>
                <td>
                  <button aria-expanded={open === l.webhookId} onClick={() => setOpen(open === l.webhookId ? null : l.webhookId)}>
                    Open {l.webhookId}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Log pages">
        <button disabled={pages.length < 2} onClick={() => setPages(pages.slice(0, -1))}>
          Previous page
        </button>
        <button disabled={!next} onClick={() => setPages([...pages, next])}>
          Next page
        </button>
        <span aria-live="polite">Page {pages.length}</span>
        <label for="page-size">Rows per page</label>
        <select
          id="page-size"
          value={pageSize}
          onChange={(e) => {
            setPageSize(Number(e.currentTarget.value));
            setPages([null]);
          }}
        >
          {PAGE_SIZES.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </nav>
      {open && <LogDetail id={open} onChanged={load} />}
      <Recover instanceId={filters.instanceId} />
      <Clear key={filters.instanceId} instanceId={filters.instanceId} onCleared={load} />
    </section>
  );
}

// The headers of the log's last HTTP attempt, as the delivery function sent them.
function Headers({ headers }: { headers: Record<string, string> | null }) {
  if (headers === null) return <p data-testid="no-request">No request was sent.</p>;
  return (
    <table data-testid="request-headers">
      <caption>Headers of the last request sent</caption>
      <thead>
        <tr>
          <th scope="col">Header</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(headers).map(([name, value]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td class="url">{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LogDetail({ id, onChanged }: { id: string; onChanged: () => void }) {
  const [log, setLog] = useState<Log | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState(false);
  usePoll(
    async () => {
      try {
        setLog((await api.get<Log>(`/api/webhook/logs/${enc(id)}`)).data);
        setError(null);
      } catch (e) {
        setError(e);
      }
    },
    2000,
    [id],
  );
  const retry = useAction(async (force: boolean) => {
    setConflict(false);
    try {
      const r = await api.post<Log>(`/api/webhook/retry/${enc(id)}`, undefined, force ? { force: true } : undefined);
      setLog(r.data);
      onChanged();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) setConflict(true);
      throw e;
    }
  });
  return (
    <section aria-labelledby="log-h" class="card" data-testid="log-detail">
      <h2 id="log-h" tabIndex={-1}>
        Webhook {id}
      </h2>
      <ErrorText error={error} />
      {log && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Status value={log.status} />
            </dd>
            <dt>Event</dt>
            <dd>{log.event}</dd>
            <dt>URL</dt>
            <dd class="url">{log.url}</dd>
            <dt>Attempts</dt>
            <dd>{log.attempts}</dd>
            <dt>Last answer</dt>
            <dd>
              {log.statusCode ?? "none"}
              {log.durationMs !== null ? ` in ${log.durationMs} ms` : ""}
            </dd>
            {log.error && (
              <>
                <dt>Error</dt>
                <dd>{log.error}</dd>
              </>
            )}
            {log.nextRetryAt && (
              <>
                <dt>Next attempt</dt>
                <dd>{time(log.nextRetryAt)}</dd>
              </>
            )}
            <dt>Created</dt>
            <dd>{time(log.createdAt)}</dd>
          </dl>
          <h3>Payload</h3>
          <Json value={log.payload} label="Payload" />
          <h3>Headers sent</h3>
          <Headers headers={log.requestHeaders} />
          <h3>Answer</h3>
          <Json value={log.response} label="The endpoint's answer" />
          <button onClick={() => retry.run(false)} disabled={retry.busy}>
            {retry.busy ? "Retrying…" : "Retry now"}
          </button>{" "}
          {conflict && (
            <button onClick={() => retry.run(true)} disabled={retry.busy}>
              Send it again anyway
            </button>
          )}
          <ErrorText error={retry.error} />
        </>
      )}
    </section>
  );
}

// Recover: the failed webhooks of a window go back on the queue, each with one more attempt;
// what one request cannot queue goes on as a job, whose progress shows.
function Recover({ instanceId }: { instanceId: string }) {
  const hourAgo = new Date(Date.now() - 3600_000);
  const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const [since, setSince] = useState(local(hourAgo));
  const [until, setUntil] = useState("");
  const [result, setResult] = useState<RecoverResult | null>(null);
  const run = useAction(async () => {
    setResult(null);
    const body: Record<string, string> = { since: new Date(since).toISOString() };
    if (until) body.until = new Date(until).toISOString();
    if (instanceId) body.instanceId = instanceId;
    setResult((await api.post<RecoverResult>("/api/webhook/retry", body)).data);
  });
  return (
    <section aria-labelledby="recover-h" class="card">
      <h2 id="recover-h">Recover failed webhooks</h2>
      <p class="hint">Puts every failed webhook created in the window{instanceId ? ` of ${instanceId}` : ""} back on the queue, each with one more attempt.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          run.run();
        }}
      >
        <Field label="From" id="r-since">
          <input id="r-since" type="datetime-local" value={since} required onInput={(e) => setSince(e.currentTarget.value)} />
        </Field>
        <Field label="Until (empty: now)" id="r-until">
          <input id="r-until" type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={run.busy}>
          {run.busy ? "Queueing…" : "Recover"}
        </button>
      </form>
      <ErrorText error={run.error} />
      {result && (
        <>
          <p role="status">
            This request queued {result.queued} webhooks
            {result.jobId ? `; the rest of the window goes on in the background as job ${result.jobId}.` : "; the window is done."}
          </p>
          <JobProgress key={result.jobId} jobId={result.jobId} label="Recover progress" noun="webhooks queued" />
        </>
      )}
    </section>
  );
}

// Clear: delete the logs of an instance, or older than some days, or both (all when neither),
// with their counts in the statistics, after a confirmation.
function Clear({ instanceId: initial, onCleared }: { instanceId: string; onCleared: () => void }) {
  const [instanceId, setInstanceId] = useState(initial);
  const [days, setDays] = useState("");
  const [confirm, setConfirm] = useState(false);
  const [result, setResult] = useState<ClearResult | null>(null);
  const what = `${instanceId ? `the logs of ${instanceId}` : "the logs of every instance"}${days ? ` older than ${days} ${days === "1" ? "day" : "days"}` : ""}`;
  const run = useAction(async () => {
    setResult(null);
    const body: Record<string, string | number> = {};
    if (instanceId) body.instanceId = instanceId;
    if (days) body.days = Number(days);
    setResult((await api.del<ClearResult>("/api/webhook/logs", body)).data);
    setConfirm(false);
    onCleared();
  });
  return (
    <section aria-labelledby="clear-h" class="card">
      <h2 id="clear-h">Delete logs</h2>
      <p class="hint">Deletes logs and their counts in the statistics. Neither field set: every log.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setConfirm(true);
        }}
      >
        <Field label="Instance (empty: all)" id="c-instance">
          <input id="c-instance" value={instanceId} onInput={(e) => setInstanceId(e.currentTarget.value)} />
        </Field>
        <Field label="Older than, in days (empty: any age)" id="c-days">
          <input id="c-days" type="number" min={1} max={3650} value={days} onInput={(e) => setDays(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={run.busy || confirm}>
          Delete logs…
        </button>
      </form>
      {confirm && (
        <p role="group" aria-label="Confirm deleting logs">
          Delete {what}? This cannot be undone.{" "}
          <ConfirmButton onClick={() => run.run()} disabled={run.busy}>
            {run.busy ? "Deleting…" : "Yes, delete them"}
          </ConfirmButton>{" "}
          <button onClick={() => setConfirm(false)}>Cancel</button>
        </p>
      )}
      <ErrorText error={run.error} />
      {result && (
        <>
          <p role="status">
            This request deleted {result.deleted} logs
            {result.jobId ? `; the rest goes on in the background as job ${result.jobId}.` : "; done."}
          </p>
          <JobProgress key={result.jobId} jobId={result.jobId} label="Deletion progress" noun="logs deleted" />
        </>
      )}
    </section>
  );
}

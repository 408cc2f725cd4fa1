import { useState } from "preact/hooks";
import { api, Stats } from "./api";
import { ErrorText, Field, usePoll } from "./ui";

interface Day {
  label: string;
  success: number;
  failed: number;
}

// Per-day counts come from the stats route's totals for n and n-1 days: the counters are kept
// per day, so the difference is that day's.
async function perDay(days: number, instanceId: string): Promise<Day[]> {
  const totals: Stats[] = [];
  for (let d = 1; d <= days; d += 6) {
    const batch = [];
    for (let k = d; k < d + 6 && k <= days; k++) batch.push(api.get<Stats>("/api/webhook/stats", { days: k, instanceId }).then((r) => r.data));
    totals.push(...(await Promise.all(batch)));
  }
  const out: Day[] = [];
  for (let i = 0; i < totals.length; i++) {
    const prev = i > 0 ? totals[i - 1] : { success: 0, failed: 0 };
    const day = new Date(Date.now() - i * 86400_000).toISOString().slice(0, 10);
    out.push({ label: day, success: totals[i].success - prev.success, failed: totals[i].failed - prev.failed });
  }
  return out.reverse();
}

export function StatsPage({ initial }: { initial: { instanceId?: string } }) {
  const [days, setDays] = useState(7);
  const [instanceId, setInstanceId] = useState(initial.instanceId ?? "");
  const [applied, setApplied] = useState({ days: 7, instanceId: initial.instanceId ?? "" });
  const [stats, setStats] = useState<Stats | null>(null);
  const [series, setSeries] = useState<Day[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  usePoll(
    async () => {
      setLoading(true);
      try {
        const r = await api.get<Stats>("/api/webhook/stats", applied);
        setStats(r.data);
        setSeries(applied.days <= 31 ? await perDay(applied.days, applied.instanceId) : null);
        setError(null);
      } catch (e) {
        setError(e);
      } finally {
        setLoading(false);
      }
    },
    10000,
    [applied],
  );
  const max = Math.max(1, ...(series ?? []).map((d) => d.success + d.failed));
  return (
    <section aria-labelledby="stats-h">
      <h1 id="stats-h" tabIndex={-1}>
        Statistics
      </h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ days, instanceId });
        }}
      >
        <Field label="Days (1 to 90)" id="s-days">
          <input id="s-days" type="number" min={1} max={90} value={days} onInput={(e) => setDays(Number(e.currentTarget.value))} />
        </Field>
        <Field label="Instance (empty: all)" id="s-instance">
          <input id="s-instance" value={instanceId} onInput={(e) => setInstanceId(e.currentTarget.value)} />
        </Field>
        <button type="submit">Show</button>
      </form>
      <p role="status" aria-live="polite">
        {loading ? "Counting…" : ""}
      </p>
      <ErrorText error={error} />
      {stats && (
        <>
          <dl class="totals" data-testid="totals">
            <div>
              <dt>Period</dt>
              <dd>{stats.period}</dd>
            </div>
            <div>
              <dt>Total</dt>
              <dd data-testid="total">{stats.total}</dd>
            </div>
            <div>
              <dt>Success</dt>
              <dd data-testid="success">{stats.success}</dd>
            </div>
            <div>
              <dt>Failed</dt>
              <dd data-testid="failed">{stats.failed}</dd>
            </div>
            <div>
              <dt>Success rate</dt>
              <dd>{stats.successRate}%</dd>
            </div>
          </dl>
          {series && (
            <figure class="chart">
              <figcaption>Success and failure per day (UTC)</figcaption>
              <ol class="bars" aria-label="Webhooks per day">
                {series.map((d) => (
                  <li key={d.label} aria-label={`${d.label}: ${d.success} success, ${d.failed} failed`}>
                    <span class="bar">
                      <span class="ok" style={{ height: `${(100 * d.success) / max}%` }} />
                      <span class="bad" style={{ height: `${(100 * d.failed) / max}%` }} />
                    </span>
                    <span class="day">{d.label.slice(5)}</span>
                  </li>
                ))}
              </ol>
            </figure>
          )}
          <table>
            <caption>Top events</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Webhooks</th>
              </tr>
            </thead>
            <tbody>
              {stats.topEvents.map((t) => (
                <tr key={t.event}>
                  <td>{t.event}</td>
                  <td>{t._count.event}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

import { useState } from "preact/hooks";
import { api, DailyStats, Stats } from "./api";
import { ErrorText, Field, usePoll } from "./ui";

// The periods the screen offers; the API takes any number of days from 1 to 90.
const PERIODS = [1, 7, 30, 90];

export function StatsPage({ initial }: { initial: { instanceId?: string } }) {
  const [days, setDays] = useState(7);
  const [instanceId, setInstanceId] = useState(initial.instanceId ?? "");
  const [applied, setApplied] = useState({ days: 7, instanceId: initial.instanceId ?? "" });
  const [stats, setStats] = useState<Stats | null>(null);
  const [daily, setDaily] = useState<DailyStats | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  usePoll(
    async () => {
      setLoading(true);
      try {
        const [totals, perDay] = await Promise.all([api.get<Stats>("/api/webhook/stats", applied), api.get<DailyStats>("/api/webhook/stats/daily", applied)]);
        setStats(totals.data);
        setDaily(perDay.data);
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
        <Field label="Period" id="s-days">
          <select id="s-days" value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            {PERIODS.map((d) => (
              <option key={d} value={d}>
                {d === 1 ? "today" : `${d} days`}
              </option>
            ))}
          </select>
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
          {daily && <DailyChart daily={daily} />}
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

// Chart geometry, in the SVG's own units (it scales to the page's width).
const W = 760;
const H = 220;
const LEFT = 44;
const BOTTOM = 22;
const TOP = 8;
const RIGHT = 24;

// ceiling rounds a count up to a scale the axis can label in whole halves: 2, 4, 6, 8 or 10
// times a power of ten.
function ceiling(n: number): number {
  if (n <= 2) return 2;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [2, 4, 6, 8, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

// DailyChart draws success, failure and (still retrying) per UTC day as stacked bars: an SVG
// image with a summary for screen readers, and the numbers as a table.
function DailyChart({ daily }: { daily: DailyStats }) {
  const days = daily.days;
  if (days.length === 0) return null;
  const top = ceiling(Math.max(...days.map((d) => d.total)));
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const band = plotW / days.length;
  const barW = Math.max(1, band * 0.8);
  const y = (n: number) => (plotH * n) / top;
  const sum = (k: "success" | "failed" | "total") => days.reduce((a, d) => a + d[k], 0);
  const busiest = days.reduce((a, d) => (d.total > a.total ? d : a), days[0]);
  // At most about 8 date labels under the bars, the last day always among them.
  const every = Math.ceil(days.length / 8);
  const labelled = (i: number) => (days.length - 1 - i) % every === 0;
  const first = days[0].date;
  const last = days[days.length - 1].date;
  const summary =
    `${days.length === 1 ? last : `From ${first} to ${last}`}: ${sum("success")} delivered, ${sum("failed")} failed, ` +
    `${sum("total") - sum("success") - sum("failed")} still retrying` +
    (busiest.total > 0 ? `; the busiest day ${busiest.date} with ${busiest.total}.` : ".");
  return (
    <figure class="chart" data-testid="daily">
      <figcaption id="daily-caption">Webhooks per day (UTC), {days.length === 1 ? "today" : `last ${days.length} days`}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="daily-caption daily-desc" class="daily" data-days={days.length}>
        <desc id="daily-desc">{summary}</desc>
        {[0, top / 2, top].map((v) => (
          <g key={v} class="grid">
            <line x1={LEFT} x2={W - RIGHT} y1={TOP + plotH - y(v)} y2={TOP + plotH - y(v)} />
            <text x={LEFT - 6} y={TOP + plotH - y(v) + 4} text-anchor="end">
              {v}
            </text>
          </g>
        ))}
        {days.map((d, i) => {
          const x = LEFT + i * band + (band - barW) / 2;
          const retrying = Math.max(0, d.total - d.success - d.failed);
          let base = TOP + plotH;
          const seg = (n: number, cls: string) => {
            if (n <= 0) return null;
            base -= y(n);
            return <rect class={cls} x={x} y={base} width={barW} height={y(n)} />;
          };
          return (
            <g key={d.date} class="day" data-date={d.date}>
              <title>{`${d.date}: ${d.success} delivered, ${d.failed} failed${retrying ? `, ${retrying} retrying` : ""}`}</title>
              {seg(d.success, "ok")}
              {seg(d.failed, "bad")}
              {seg(retrying, "wait")}
              {labelled(i) && (
                <text x={x + barW / 2} y={H - 6} text-anchor="middle">
                  {d.date.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <ul class="legend" aria-label="Legend">
        <li>
          <span class="swatch ok" /> delivered
        </li>
        <li>
          <span class="swatch bad" /> failed
        </li>
        <li>
          <span class="swatch wait" /> still retrying
        </li>
      </ul>
      <details>
        <summary>The numbers per day, as a table</summary>
        <table data-testid="daily-table">
          <caption>Webhooks per day (UTC), oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Total</th>
              <th scope="col">Delivered</th>
              <th scope="col">Failed</th>
            </tr>
          </thead>
          <tbody>
            {days.map((d) => (
              <tr key={d.date} data-date={d.date}>
                <th scope="row">{d.date}</th>
                <td>{d.total}</td>
                <td>{d.success}</td>
                <td>{d.failed}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

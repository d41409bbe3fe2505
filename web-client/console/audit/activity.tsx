/**
 * Activity: audit entries per hour or per day over a window, counted by the gateway in the
 * browser's time zone (GET /audit/activity, one request however many entries), drawn as bars
 * stacked by action family or filtered to one family, with the same counts as a table for anyone
 * who cannot see the chart.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { fieldProblems } from '../kit/errors.ts';
import { useConsole } from '../kit/session.ts';
import { ErrorNote, Field, Table, useLoad } from '../kit/ui.tsx';
import { loadActivity, type Activity, type Bucket } from './api.ts';
import { BarChart, type ChartBar } from './chart.tsx';
import { FAMILIES, familyOf, type Family } from './families.ts';
import { browserTimeZone } from './format.ts';
import { initialWindow, resolveWindow, WindowFields, type ResolvedWindow, type WindowValue } from './time-window.tsx';

type BucketChoice = 'auto' | Bucket;
const TWO_DAYS_MS = 2 * 86_400_000;
/** Never draw more bars than this, whatever the gateway allows. */
const MAX_BARS = 800;

const ACTIVITY_MESSAGES: Readonly<Record<string, string>> = {
  validation_failed: 'The chart was refused: correct the marked fields. Hourly bars cover at most 31 days; choose days for longer windows.',
};

interface Query {
  readonly window: ResolvedWindow;
  readonly bucket: Bucket;
}

function bucketFor(choice: BucketChoice, w: ResolvedWindow): Bucket {
  if (choice !== 'auto') return choice;
  return w.to.getTime() - w.from.getTime() <= TWO_DAYS_MS ? 'hour' : 'day';
}

function queryOf(win: WindowValue, choice: BucketChoice): Query | { problems: Readonly<Record<string, string>> } {
  const r = resolveWindow(win);
  return 'problems' in r ? r : { window: r.window, bucket: bucketFor(choice, r.window) };
}

/** Bucket starts from the window's first local hour/day to its end (local calendar, so DST days are 23 or 25 h). */
function bucketStarts(w: ResolvedWindow, bucket: Bucket): number[] {
  const d = new Date(w.from);
  if (bucket === 'hour') d.setMinutes(0, 0, 0);
  else d.setHours(0, 0, 0, 0);
  const out: number[] = [];
  while (d.getTime() < w.to.getTime() && out.length < MAX_BARS) {
    out.push(d.getTime());
    if (bucket === 'hour') d.setHours(d.getHours() + 1);
    else d.setDate(d.getDate() + 1);
  }
  return out;
}

function barsOf(data: Activity, w: ResolvedWindow, family: string): ChartBar[] {
  const counted = new Map(data.buckets.map((b) => [new Date(b.start).getTime(), b.counts]));
  const starts = [...new Set([...bucketStarts(w, data.bucket), ...counted.keys()])].sort((a, b) => a - b);
  const shown = family === 'all' ? FAMILIES : FAMILIES.filter((f) => f.id === family);
  return starts.map((ms) => {
    const perFamily = new Map<Family, number>();
    for (const [action, n] of Object.entries(counted.get(ms) ?? {})) {
      const f = familyOf(action);
      perFamily.set(f, (perFamily.get(f) ?? 0) + n);
    }
    const segments = shown.map((f) => ({ family: f, count: perFamily.get(f) ?? 0 }));
    const d = new Date(ms);
    return {
      key: String(ms),
      label: data.bucket === 'hour' ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { month: 'short', day: 'numeric' }),
      longLabel: data.bucket === 'hour' ? d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : d.toLocaleDateString([], { dateStyle: 'medium' }),
      segments,
      total: segments.reduce((sum, s) => sum + s.count, 0),
    };
  });
}

export function ActivityView(): JSX.Element {
  const { call } = useConsole();
  const [win, setWin] = useState<WindowValue>(initialWindow);
  const [choice, setChoice] = useState<BucketChoice>('auto');
  const [family, setFamily] = useState('all');
  const [problems, setProblems] = useState<Readonly<Record<string, string>>>({});
  const [query, setQuery] = useState<Query>(() => {
    const q = queryOf(initialWindow(), 'auto');
    if ('problems' in q) throw new Error('the default window is always valid');
    return q;
  });
  const timeZone = browserTimeZone();
  const result = useLoad(() => loadActivity(call, query.window.from, query.window.to, query.bucket, timeZone), [query]);
  const serverProblems = fieldProblems(result.error);

  const submit = (ev: Event): void => {
    ev.preventDefault();
    const q = queryOf(win, choice);
    if ('problems' in q) {
      setProblems(q.problems);
      return;
    }
    setProblems({});
    setQuery(q);
  };

  const data = result.data;
  const bars = data === undefined ? [] : barsOf(data, query.window, family);
  const shownTotal = bars.reduce((s, b) => s + b.total, 0);
  const busiest = bars.reduce<ChartBar | undefined>((best, b) => (b.total > (best?.total ?? 0) ? b : best), undefined);
  const unit = data?.bucket === 'day' ? 'day' : 'hour';
  const familyLabel = family === 'all' ? 'all actions' : (FAMILIES.find((f) => f.id === family)?.label ?? family);
  const summary = `${shownTotal} ${shownTotal === 1 ? 'entry' : 'entries'} (${familyLabel}) per ${unit}${busiest === undefined ? '' : `; busiest ${unit}: ${busiest.longLabel} with ${busiest.total}`}.`;
  const presentFamilies = FAMILIES.filter((f) => bars.some((b) => b.segments.some((s) => s.family === f && s.count > 0)));

  return (
    <>
      <section class="card" aria-labelledby="activity-title">
        <h2 id="activity-title">Audit activity</h2>
        <form class="form audit-filters" data-testid="activity-form" onSubmit={submit} noValidate>
          <WindowFields value={win} onChange={setWin} problems={{ ...serverProblems, ...problems }} testId="activity" />
          <Field label="Bars per" hint="Automatic: hours for up to two days, then days." problem={serverProblems['bucket']}>
            {(id, describedBy) => (
              <select id={id} data-testid="activity-bucket" value={choice} aria-describedby={describedBy} onChange={(e) => setChoice(e.currentTarget.value as BucketChoice)}>
                <option value="auto">Automatic</option>
                <option value="hour">Hour</option>
                <option value="day">Day</option>
              </select>
            )}
          </Field>
          <Field label="Action family">
            {(id) => (
              <select id={id} data-testid="activity-family" value={family} onChange={(e) => setFamily(e.currentTarget.value)}>
                <option value="all">All families, stacked</option>
                {FAMILIES.map((f) => (
                  <option key={f.id} value={f.id}>
                    {f.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div class="row">
            <button type="submit" class="primary" data-testid="activity-run" disabled={result.loading}>
              Show
            </button>
          </div>
        </form>
        <ErrorNote error={result.error} own={ACTIVITY_MESSAGES} />
      </section>
      {data === undefined ? (
        result.loading ? (
          <p class="muted" role="status">
            Counting entries…
          </p>
        ) : null
      ) : (
        <section class="card" aria-labelledby="activity-chart-heading" aria-busy={result.loading}>
          <h2 id="activity-chart-heading">Entries per {unit}</h2>
          <p role="status" data-testid="activity-summary">
            {summary}
          </p>
          <BarChart bars={bars} title={`Audit entries per ${unit}, ${familyLabel}`} description={summary} />
          {presentFamilies.length === 0 ? null : (
            <ul class="chart-legend" aria-label="Legend">
              {presentFamilies.map((f) => (
                <li key={f.id}>
                  <svg class="legend-swatch" viewBox="0 0 10 10" aria-hidden="true">
                    <rect class={`seg fam-${f.id}`} width="10" height="10" />
                  </svg>
                  {f.label}
                </li>
              ))}
            </ul>
          )}
          <details data-testid="activity-table">
            <summary>Counts as a table</summary>
            <Table
              caption={`Entries per ${unit} by action family (${unit}s without entries left out)`}
              head={[unit === 'day' ? 'Day' : 'Hour starting', ...presentFamilies.map((f) => f.label), 'Total']}
              empty="No entries in this window."
              rowTestId="activity-row"
              rows={bars
                .filter((b) => b.total > 0)
                .map((b) => [b.longLabel, ...presentFamilies.map((f) => String(b.segments.find((s) => s.family === f)?.count ?? 0)), <strong key="t">{b.total}</strong>])}
            />
          </details>
        </section>
      )}
    </>
  );
}

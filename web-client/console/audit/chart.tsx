/**
 * A bar chart of audit entries per bucket, stacked by action family, drawn as SVG elements by
 * Preact: no chart library, and no style attributes (the CSP forbids them) — colours come from CSS
 * classes, sizes from SVG presentation attributes. Each bar carries a <title> (hover / screen
 * reader); the view next to it offers the same counts as a table.
 */
import type { JSX } from 'preact';
import type { Family } from './families.ts';

export interface ChartBar {
  readonly key: string;
  /** Short axis label (14:00, Mar 3). */
  readonly label: string;
  /** Full label for the bar's title. */
  readonly longLabel: string;
  readonly segments: readonly { readonly family: Family; readonly count: number }[];
  readonly total: number;
}

const W = 800;
const H = 260;
const M = { left: 44, right: 28, top: 12, bottom: 28 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;
const MAX_X_LABELS = 12;

/** The smallest 1, 2 or 5 × 10^k at or above n (at least 1): round gridline values. */
function niceCeil(n: number): number {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

export function BarChart({ bars, title, description }: { bars: readonly ChartBar[]; title: string; description: string }): JSX.Element {
  const max = niceCeil(Math.max(0, ...bars.map((b) => b.total)));
  const slot = bars.length === 0 ? PLOT_W : PLOT_W / bars.length;
  const barW = Math.max(1, slot * 0.8);
  const y = (v: number): number => M.top + PLOT_H - (v / max) * PLOT_H;
  const labelEvery = Math.max(1, Math.ceil(bars.length / MAX_X_LABELS));
  const grid = [0, max / 2, max];

  return (
    <svg class="audit-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="activity-chart-title activity-chart-desc" data-testid="activity-chart">
      <title id="activity-chart-title">{title}</title>
      <desc id="activity-chart-desc">{description}</desc>
      <g class="chart-grid" aria-hidden="true">
        {grid.map((v) => (
          <g key={v}>
            <line x1={M.left} x2={W - M.right} y1={y(v)} y2={y(v)} />
            <text x={M.left - 6} y={y(v) + 4} text-anchor="end">
              {Number.isInteger(v) ? v : v.toFixed(1)}
            </text>
          </g>
        ))}
      </g>
      {bars.map((b, i) => {
        const x = M.left + i * slot + (slot - barW) / 2;
        let top = y(0);
        return (
          <g key={b.key} data-testid="bar" data-count={b.total}>
            <title>{`${b.longLabel}: ${b.total} ${b.total === 1 ? 'entry' : 'entries'}${b.segments.length > 1 ? ` (${b.segments.filter((s) => s.count > 0).map((s) => `${s.family.label} ${s.count}`).join(', ')})` : ''}`}</title>
            {b.segments.map((s) => {
              if (s.count === 0) return null;
              const h = (s.count / max) * PLOT_H;
              top -= h;
              return <rect key={s.family.id} class={`seg fam-${s.family.id}`} x={x} y={top} width={barW} height={h} />;
            })}
          </g>
        );
      })}
      <g class="chart-axis" aria-hidden="true">
        <line x1={M.left} x2={W - M.right} y1={y(0)} y2={y(0)} />
        {bars.map((b, i) =>
          i % labelEvery === 0 ? (
            <text key={b.key} x={M.left + i * slot + slot / 2} y={H - 8} text-anchor="middle">
              {b.label}
            </text>
          ) : null,
        )}
      </g>
    </svg>
  );
}

/**
 * The time window the audit views work on: a preset relative to now (default the last 24 hours,
 * resolved when the user runs the search, so "now" is when they asked) or a custom range in the
 * browser's local time. Problems a browser can see (an empty or malformed date) are named here;
 * the gateway names the rest (a window that runs backwards or spans more than a year).
 */
import type { JSX } from 'preact';
import { Field } from '../kit/ui.tsx';

export const PRESETS = [
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const;

export type PresetId = (typeof PRESETS)[number]['id'] | 'custom';

export interface WindowValue {
  readonly preset: PresetId;
  /** datetime-local values (local time), used when preset is custom. */
  readonly from: string;
  readonly to: string;
}

export interface ResolvedWindow {
  readonly from: Date;
  readonly to: Date;
}

/** A minute past now: entries stamped by a gateway whose clock runs slightly ahead still fall inside. */
const SLACK_MS = 60_000;

const pad = (n: number): string => String(n).padStart(2, '0');
const localValue = (d: Date): string => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;

export function initialWindow(): WindowValue {
  const now = Date.now();
  return { preset: '24h', from: localValue(new Date(now - 86_400_000)), to: localValue(new Date(now + SLACK_MS)) };
}

function parseLocal(value: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function resolveWindow(w: WindowValue): { window: ResolvedWindow } | { problems: Readonly<Record<string, string>> } {
  const preset = PRESETS.find((p) => p.id === w.preset);
  if (preset !== undefined) {
    const to = new Date(Date.now() + SLACK_MS);
    return { window: { from: new Date(to.getTime() - SLACK_MS - preset.ms), to } };
  }
  const from = parseLocal(w.from);
  const to = parseLocal(w.to);
  const problems: Record<string, string> = {};
  if (from === undefined) problems['from'] = 'Enter a start date and time.';
  if (to === undefined) problems['to'] = 'Enter an end date and time.';
  if (from === undefined || to === undefined) return { problems };
  return { window: { from, to } };
}

export function WindowFields(props: { value: WindowValue; onChange: (v: WindowValue) => void; problems: Readonly<Record<string, string>>; testId: string }): JSX.Element {
  const { value, onChange, problems, testId } = props;
  return (
    <>
      <Field label="Time window">
        {(id) => (
          <select id={id} data-testid={`${testId}-window`} value={value.preset} onChange={(e) => onChange({ ...value, preset: e.currentTarget.value as PresetId })}>
            {PRESETS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
            <option value="custom">Custom range</option>
          </select>
        )}
      </Field>
      {value.preset !== 'custom' ? null : (
        <>
          <Field label="From" hint="Your local time; entries at or after this moment." problem={problems['from']}>
            {(id, describedBy) => (
              <input
                id={id}
                type="datetime-local"
                data-testid={`${testId}-from`}
                value={value.from}
                aria-describedby={describedBy}
                aria-invalid={problems['from'] !== undefined}
                onInput={(e) => onChange({ ...value, from: e.currentTarget.value })}
              />
            )}
          </Field>
          <Field label="To" hint="Entries before this moment; at most a year after From." problem={problems['to']}>
            {(id, describedBy) => (
              <input
                id={id}
                type="datetime-local"
                data-testid={`${testId}-to`}
                value={value.to}
                aria-describedby={describedBy}
                aria-invalid={problems['to'] !== undefined}
                onInput={(e) => onChange({ ...value, to: e.currentTarget.value })}
              />
            )}
          </Field>
        </>
      )}
    </>
  );
}

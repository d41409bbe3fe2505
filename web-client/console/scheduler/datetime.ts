/**
 * Dates and times as the scheduler types them (the browser's own time zone, in the native date and
 * datetime-local inputs) and as the gateway takes them (ISO 8601 instants).
 */

const pad = (n: number): string => String(n).padStart(2, '0');

/** `YYYY-MM-DD` of the local calendar day. */
export function dateValue(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** `YYYY-MM-DDTHH:mm` in local time, for datetime-local inputs. */
export function dateTimeValue(d: Date): string {
  return `${dateValue(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Local midnight of a `YYYY-MM-DD` value (not UTC midnight, which `new Date(value)` would give). */
export function startOfDay(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (m === null) return undefined;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The instant of a datetime-local value (local time), or undefined when empty or invalid. */
export function fromDateTimeValue(value: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The days from `fromDay` to `toDay` inclusive, as [start, end) instants. */
export function dayRange(fromDay: string, toDay: string): { from: Date; to: Date } | undefined {
  const from = startOfDay(fromDay);
  const last = startOfDay(toDay);
  if (from === undefined || last === undefined) return undefined;
  const to = new Date(last.getFullYear(), last.getMonth(), last.getDate() + 1);
  return to > from ? { from, to } : undefined;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function formatDay(iso: string): string {
  return new Date(iso).toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' });
}

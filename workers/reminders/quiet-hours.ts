/**
 * Quiet hours in the patient's own time zone: a reminder due outside the sending window
 * (default 08:00–21:00 local) is delayed to the next window opening, never dropped. Daylight-
 * saving gaps and overlaps are handled by luxon's zone rules; an unknown zone falls back to UTC
 * (the patients table defaults to 'UTC') rather than sending at an arbitrary hour.
 */
import { DateTime } from 'luxon';

export interface SendingWindow {
  /** Local hour the window opens (inclusive), 0–23. */
  readonly startHour: number;
  /** Local hour the window closes (exclusive), 1–24. */
  readonly endHour: number;
}

export const DEFAULT_WINDOW: SendingWindow = { startHour: 8, endHour: 21 };

function zoned(at: Date, zone: string): DateTime {
  const t = DateTime.fromJSDate(at, { zone });
  return t.isValid ? t : DateTime.fromJSDate(at, { zone: 'UTC' });
}

/** `at` itself when inside the window; otherwise the next window opening, in the patient's zone. */
export function nextSendTime(at: Date, zone: string, window: SendingWindow = DEFAULT_WINDOW): Date {
  if (!(window.startHour >= 0 && window.startHour < window.endHour && window.endHour <= 24)) throw new RangeError('sending window must satisfy 0 <= start < end <= 24');
  const local = zoned(at, zone);
  const hour = local.hour + local.minute / 60 + local.second / 3600;
  if (hour >= window.startHour && hour < window.endHour) return at;
  const day = hour < window.startHour ? local.startOf('day') : local.startOf('day').plus({ days: 1 });
  // On a spring-forward day the opening hour may not exist; luxon moves it forward.
  return day.set({ hour: window.startHour }).toJSDate();
}

/**
 * Template text mechanics: the closed set of placeholders, finding them with their positions,
 * filling them, and the generic "when" word that stands in for an appointment's date and time.
 * A template can only say what these placeholders say; there is deliberately no placeholder for
 * a patient's name, a date, a time, a provider or a reason for the visit.
 */
import { DateTime } from 'luxon';

export const Channel = { sms: 'sms', email: 'email' } as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

export const Placeholder = {
  clinicName: 'clinic_name',
  /** The portal's sign-in page: the same for every recipient. */
  portalLink: 'portal_link',
  /** This appointment's visit link (the worker creates it per delivery). */
  visitLink: 'visit_link',
  /** Channel-specific opt-out instructions ("Reply STOP to opt out." for SMS). */
  optOut: 'opt_out',
  /** "today", "tomorrow" or "soon": never the date or the time itself. */
  timeWord: 'time_word',
} as const;
export type Placeholder = (typeof Placeholder)[keyof typeof Placeholder];
const PLACEHOLDERS: ReadonlySet<string> = new Set(Object.values(Placeholder));
export const isPlaceholder = (s: string): s is Placeholder => PLACEHOLDERS.has(s);

/** Placeholders a subject line may use (a link or opt-out text belongs in the body). */
export const SUBJECT_PLACEHOLDERS: ReadonlySet<Placeholder> = new Set([Placeholder.clinicName, Placeholder.timeWord]);

export const TimeWord = { today: 'today', tomorrow: 'tomorrow', soon: 'soon' } as const;
export type TimeWord = (typeof TimeWord)[keyof typeof TimeWord];
export const TIME_WORDS: readonly TimeWord[] = Object.values(TimeWord);

export interface PlaceholderToken {
  /** The name as written (may be unknown). */
  readonly name: string;
  readonly offset: number;
  readonly length: number;
}

export interface Position {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export function positionOf(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  return { offset, line: before.split('\n').length, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

const TOKEN_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Every `{{…}}` in the text, known or not. */
export function placeholderTokens(text: string): PlaceholderToken[] {
  return [...text.matchAll(TOKEN_RE)].map((m) => ({ name: m[1] ?? '', offset: m.index, length: m[0].length }));
}

/** Offsets of `{{` or `}}` that are not part of a complete placeholder. */
export function strayBraces(text: string): number[] {
  const masked = maskPlaceholders(text);
  return [...masked.matchAll(/\{\{|\}\}/g)].map((m) => m.index);
}

/**
 * The text with each placeholder replaced by spaces of the same length: what the clinic typed
 * literally, for the template-time lint, with offsets unchanged so positions point into the original.
 */
export function maskPlaceholders(text: string): string {
  return text.replace(TOKEN_RE, (m) => ' '.repeat(m.length));
}

export function fillPlaceholders(text: string, values: Readonly<Record<Placeholder, string>>): string {
  return text.replace(TOKEN_RE, (m, name: string) => (isPlaceholder(name) ? values[name] : m));
}

/** Line endings to `\n` and Unicode NFC: the form that is stored, hashed and sent. */
export const canonicalText = (s: string): string => s.replace(/\r\n?/g, '\n').normalize('NFC');

/**
 * The generic word for when an appointment is, judged by calendar day in the patient's time zone.
 * "soon" is the fallback for everything else — later days, a clinic that allows fewer words, and a
 * time zone that cannot be resolved (a vague word is never wrong; a wrong "today" would be).
 */
export function timeWordFor(startsAt: Date, now: Date, timeZone: string, allowed: readonly TimeWord[] = TIME_WORDS): TimeWord {
  const start = DateTime.fromJSDate(startsAt, { zone: timeZone });
  const current = DateTime.fromJSDate(now, { zone: timeZone });
  if (!start.isValid || !current.isValid) return TimeWord.soon;
  // Rounded: a day that gains or loses an hour at a DST change is still one calendar day.
  const days = Math.round(start.startOf('day').diff(current.startOf('day'), 'days').days);
  const word = days === 0 ? TimeWord.today : days === 1 ? TimeWord.tomorrow : TimeWord.soon;
  return allowed.includes(word) ? word : TimeWord.soon;
}

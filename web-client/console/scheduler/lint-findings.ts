/**
 * The template checker's findings in the editor's terms. The gateway names the rule and the
 * line:column but never quotes the text (its messages may reach logs); the words are the
 * scheduler's own typing, so the editor finds them again here, to show and highlight them.
 */
import type { TemplateProblem } from './types.ts';

export const RULE_NAMES: Readonly<Record<string, string>> = {
  person_name: 'A person’s name',
  patient_name: 'The patient’s name',
  date: 'A date',
  date_of_birth: 'A date of birth',
  clock_time: 'A clock time',
  phone_number: 'A phone number',
  email_address: 'An e-mail address',
  url: 'A link to another website',
  ssn: 'A social security number',
  mrn: 'A medical record number',
  long_number: 'A long number that could identify someone',
  medical_term: 'A diagnosis, medication, specialty or procedure word',
  unknown_placeholder: 'An unknown placeholder',
  malformed_placeholder: 'An unmatched {{ or }}',
  placeholder_not_allowed_here: 'A placeholder the subject may not use',
  missing_placeholder: 'A required placeholder is missing',
  control_character: 'An invisible or control character',
  subject_multiline: 'A line break in the subject',
  sms_too_long: 'Too long for a text message',
};

const ADVICE: Readonly<Record<string, string>> = {
  person_name: 'Reminders must not name anyone; say “you have a visit” instead.',
  patient_name: 'Reminders must not name anyone.',
  date: 'Use {{time_word}} (today, tomorrow, soon) instead of a date.',
  date_of_birth: 'Never mention a date of birth.',
  clock_time: 'Use {{time_word}} instead of a time; the portal shows the details.',
  phone_number: 'Remove the number; only the clinic’s own numbers are allowed.',
  email_address: 'Remove the address.',
  url: 'Use {{portal_link}} or {{visit_link}} instead.',
  ssn: 'Remove it.',
  mrn: 'Remove it.',
  long_number: 'Remove the number.',
  medical_term: 'Do not say what the visit is about.',
  missing_placeholder: 'Add it to the text.',
  unknown_placeholder: 'Use one of the listed placeholders.',
};

export interface Flag {
  readonly path: 'subject' | 'body';
  readonly rule: string;
  readonly title: string;
  readonly advice: string;
  /** "line 2, column 5", or undefined when the finding is about the whole text. */
  readonly where: string | undefined;
  /** The flagged words as typed, when they can be found. */
  readonly words: string | undefined;
  /** UTF-16 offsets into the field's text. */
  readonly start: number | undefined;
  readonly end: number | undefined;
}

/** Offset of a 1-based line:column (column in UTF-16 units, as the gateway counts). */
export function offsetOf(text: string, line: number, column: number): number | undefined {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl === -1) return undefined;
    offset = nl + 1;
  }
  const at = offset + column - 1;
  return at <= text.length ? at : undefined;
}

/** How far the flagged words reach from where the finding starts (shapes that span several words). */
const SPANS: Readonly<Record<string, RegExp>> = {
  person_name: /^\S+\s+\S+/u,
  date_of_birth: /^(?:date\s+of\s+birth|birth\s?date|born\s+on|\S+)/iu,
  date: /^(?:\p{L}+\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?\p{L}+\.?(?:,?\s+\d{4})?|\S+)/iu,
  clock_time: /^\d{1,2}(?::\d{2})?\s?(?:a\.m\.|p\.m\.|am|pm|o'clock)?/iu,
  phone_number: /^[+\d(][\d\s().-]*\d/u,
  mrn: /^(?:medical\s+record(?:\s+(?:number|no\.?|#))?|patient\s+(?:id|number|no\.?|#)|chart\s+(?:number|no\.?|#)|\S+)(?:\s*[:#]?\s*[A-Z0-9][A-Z0-9-]{2,})?/iu,
  ssn: /^(?:social\s+security(?:\s+(?:number|no\.?|#))?|\S+)/iu,
  medical_term: /^\S+(?:\s+\S+){0,2}/u,
};

function wordsAt(text: string, offset: number, rule: string): { words: string; end: number } | undefined {
  const rest = text.slice(offset);
  const m = (SPANS[rule] ?? /^\S+/u).exec(rest);
  if (m === null) return undefined;
  // Sentence punctuation after the words belongs to the sentence.
  const words = m[0].replace(/[\s.,;:!?)\]]+$/u, '');
  return words === '' ? undefined : { words, end: offset + words.length };
}

export function toFlags(problems: readonly TemplateProblem[], texts: { readonly subject: string; readonly body: string }): Flag[] {
  return problems.map((p) => {
    const title = RULE_NAMES[p.rule] ?? p.rule.replaceAll('_', ' ');
    const advice = ADVICE[p.rule] ?? 'Change the text so the check passes.';
    if (p.line === undefined || p.column === undefined) return { path: p.path, rule: p.rule, title, advice, where: undefined, words: undefined, start: undefined, end: undefined };
    const where = `line ${p.line}, column ${p.column}`;
    const text = p.path === 'subject' ? texts.subject : texts.body;
    const start = offsetOf(text, p.line, p.column);
    const found = start === undefined ? undefined : wordsAt(text, start, p.rule);
    return { path: p.path, rule: p.rule, title, advice, where, words: found?.words, start: found === undefined ? undefined : start, end: found?.end };
  });
}

/** The text cut into plain and flagged pieces (for highlighting); overlapping flags merge. */
export function highlight(text: string, flags: readonly Flag[]): { readonly text: string; readonly flagged: boolean }[] {
  const spans = flags
    .filter((f): f is Flag & { start: number; end: number } => f.start !== undefined && f.end !== undefined)
    .map((f) => [f.start, f.end] as const)
    .sort((a, b) => a[0] - b[0]);
  const out: { text: string; flagged: boolean }[] = [];
  let at = 0;
  for (const [s, e] of spans) {
    if (e <= at) continue;
    const from = Math.max(s, at);
    if (from > at) out.push({ text: text.slice(at, from), flagged: false });
    out.push({ text: text.slice(from, e), flagged: true });
    at = e;
  }
  if (at < text.length) out.push({ text: text.slice(at), flagged: false });
  return out;
}

/**
 * The fixed detectors behind the PHI linter: one regular expression per shape of identifying
 * text a reminder must never carry (dates, clock times, phone numbers, SSN/MRN-like identifiers,
 * e-mail addresses, links, titled names). Compiled once at module load; the linter runs them in
 * the order listed, and a span claimed by an earlier detector is not reported again by a later
 * one (a phone number is not also a "long number").
 */

export const LintRule = {
  emailAddress: 'email_address',
  url: 'url',
  ssn: 'ssn',
  phoneNumber: 'phone_number',
  date: 'date',
  dateOfBirth: 'date_of_birth',
  clockTime: 'clock_time',
  mrn: 'mrn',
  longNumber: 'long_number',
  personName: 'person_name',
  patientName: 'patient_name',
  medicalTerm: 'medical_term',
} as const;
export type LintRule = (typeof LintRule)[keyof typeof LintRule];

/** Not a letter or digit on either side: a "word boundary" that also works for Unicode and hyphenated terms. */
export const B_START = '(?<![\\p{L}\\p{N}])';
export const B_END = '(?![\\p{L}\\p{N}])';

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const MONTH = '(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)';
const ORD = '(?:st|nd|rd|th)?';

/** `describe(match)` says what was found without quoting it (it may be PHI). */
export interface Detector {
  readonly rule: LintRule;
  readonly re: RegExp;
  readonly describe: (match: string) => string;
}

const digits = (s: string): number => s.replace(/\D/g, '').length;
/** "an 8-digit", "a 10-digit". */
const nDigit = (s: string): string => {
  const n = digits(s);
  return `${n === 8 || n === 11 || n === 18 ? 'an' : 'a'} ${n}-digit`;
};

export const EMAIL_RE = new RegExp(`${B_START}[\\p{L}\\p{N}._%+-]+@[\\p{L}\\p{N}-]+(?:\\.[\\p{L}\\p{N}-]+)+`, 'gu');

/** Scheme or www. links, and bare domains with a common TLD ("clinic-portal.com/x"). */
export const URL_RE = new RegExp(
  `${B_START}(?:(?:https?:\\/\\/|www\\.)[^\\s<>"'{}]+|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+(?:com|org|net|edu|gov|io|co|us|info|health|care|clinic|app|biz|me|uk|ca|de|fr|au|nz|ie|eu)(?:[/?#][^\\s<>"'{}]*)?${B_END})`,
  'giu',
);

export const DETECTORS: readonly Detector[] = [
  {
    rule: LintRule.ssn,
    re: new RegExp(`(?<!\\d)\\d{3}[- ]\\d{2}[- ]\\d{4}(?!\\d)|${B_START}(?:ssn|social security(?:\\s+(?:number|no\\.?|#))?)${B_END}`, 'giu'),
    describe: (m) => (/\d/.test(m) ? 'an SSN-shaped number' : 'a social security number label'),
  },
  {
    rule: LintRule.phoneNumber,
    re: /(?<![\d+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-]?)\d{3}[\s.-]?\d{4}(?!\d)|(?<![\d+])\+\d(?:[\s.-]?\d){7,14}(?!\d)/g,
    describe: (m) => `${nDigit(m)} phone number`,
  },
  {
    rule: LintRule.dateOfBirth,
    re: new RegExp(`${B_START}(?:dob|d\\.o\\.b\\.?|date\\s+of\\s+birth|birth\\s?date|birthday|born\\s+on)${B_END}`, 'giu'),
    describe: () => 'a date-of-birth reference',
  },
  {
    rule: LintRule.date,
    re: /(?<![\d/.-])(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})|\d{1,2}\/\d{1,2})(?![\d/])/g,
    describe: () => 'a numeric date',
  },
  {
    rule: LintRule.date,
    re: new RegExp(
      `${B_START}(?:${MONTH}\\.?\\s+\\d{1,2}${ORD}(?:,?\\s+\\d{4})?|\\d{1,2}${ORD}\\s+(?:of\\s+)?${MONTH}\\.?(?:,?\\s+\\d{4})?|${MONTH}\\.?,?\\s+\\d{4})${B_END}`,
      'giu',
    ),
    describe: () => 'a calendar date',
  },
  {
    rule: LintRule.clockTime,
    re: new RegExp(`(?<![\\d:])\\d{1,2}:\\d{2}(?::\\d{2})?(?:\\s?(?:a\\.m\\.|p\\.m\\.|am|pm))?(?!\\d|:\\d)|${B_START}\\d{1,2}\\s?(?:a\\.m\\.|p\\.m\\.|am|pm|o'clock)${B_END}`, 'giu'),
    describe: () => 'a clock time',
  },
  {
    rule: LintRule.mrn,
    re: new RegExp(
      `${B_START}(?:mrn|medical\\s+record(?:\\s+(?:number|no\\.?|#))?|patient\\s+(?:id|number|no\\.?|#)|chart\\s+(?:number|no\\.?|#))(?:\\s*[:#]?\\s*[A-Z0-9][A-Z0-9-]{2,})?${B_END}`,
      'giu',
    ),
    describe: () => 'a medical record number or its label',
  },
  {
    rule: LintRule.longNumber,
    re: /(?<![\p{L}\p{N}])(?:\p{Lu}{1,4}-?)?\d{6,}(?![\p{L}\p{N}])/gu,
    describe: (m) => `${nDigit(m)} number`,
  },
  {
    rule: LintRule.personName,
    re: /(?<![\p{L}\p{N}])(?:(?:Dr|DR|dr|Mr|MR|Mrs|MRS|Ms|MS|Mx|Miss|Prof|Nurse|Doctor)\.?\s+\p{Lu}[\p{L}'’-]+|(?:Dear|Hi|Hello|Hey)\s+(?!There\b|All\b|Everyone\b|Friend\b|Patient\b|Team\b)\p{Lu}\p{Ll}[\p{L}'’-]*)/gu,
    describe: () => 'a person’s name',
  },
];

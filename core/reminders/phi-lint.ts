/**
 * The PHI linter for reminder text. Reminders travel over SMS and e-mail, which are not end-to-end
 * protected and show up on lock screens, so they may say only that the clinic has an appointment
 * for the recipient and where to sign in. The linter refuses identifying shapes (dates, times,
 * phone numbers, identifiers, e-mail addresses, foreign links, titled names), the patient's own
 * names when the caller supplies them (the render-time check), and a vocabulary of diagnosis,
 * medication, specialty and procedure terms. It runs on template text at save and on every rendered
 * message before it is sent, so it is pure and precompiled. Findings say which rule fired and
 * where, never the matched text: it may be PHI, and error messages end up in logs.
 */
import { B_END, B_START, DETECTORS, EMAIL_RE, LintRule, URL_RE, escapeRegExp } from './phi-patterns.ts';
import { DEFAULT_VOCABULARY, type TermCategory, type VocabularyTerm } from './phi-terms.ts';

export { LintRule } from './phi-patterns.ts';

export interface LintFinding {
  readonly rule: LintRule;
  /** UTF-16 offset into the linted text. */
  readonly offset: number;
  readonly length: number;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units. */
  readonly column: number;
  /** What was found, without quoting it ("a 10-digit phone number"). */
  readonly kind: string;
  /** `rule: kind at line:col`, safe to show and to log. */
  readonly message: string;
}

export interface PhiLintOptions {
  /** Origins links may point to (the portal, the visit page), e.g. `https://clinic.example`. */
  readonly allowedOrigins: readonly string[];
  /** The clinic's own numbers, which templates may print (compared on digits; a leading 1 is ignored). */
  readonly allowedPhoneNumbers?: readonly string[];
  /** The clinic's own addresses (compared case-insensitively). */
  readonly allowedEmails?: readonly string[];
  /** Replaces the default vocabulary. */
  readonly vocabulary?: readonly VocabularyTerm[];
  /** Added to the vocabulary (e.g. a clinic's own service lines). */
  readonly extraTerms?: readonly VocabularyTerm[];
}

export interface LintContext {
  /** The recipient's decrypted names (render-time check): any of them in the text is a finding. */
  readonly patientNames?: readonly string[];
}

export interface PhiLinter {
  lint(text: string, ctx?: LintContext): LintFinding[];
}

const CATEGORY_KIND: Readonly<Record<TermCategory, string>> = {
  diagnosis: 'a diagnosis term',
  medication: 'a medication term',
  specialty: 'a specialty term',
  procedure: 'a procedure term',
};

/** A term as a pattern: spaces match any run of whitespace, so a line break does not hide it. */
const termPattern = (term: string): string =>
  term.trim().split(/\s+/).map((w) => escapeRegExp(w).replaceAll("'", "['’]")).join('\\s+');

function normalizeDigits(s: string): string {
  const d = s.replace(/\D/g, '');
  return d.length === 11 && d.startsWith('1') ? d.slice(1) : d;
}

function originOf(candidate: string): string | null {
  try {
    return new URL(/^https?:\/\//i.test(candidate) ? candidate : `https://${candidate}`).origin;
  } catch {
    return null; // not parseable as a URL at all: treated as a foreign link
  }
}

/** Sentence punctuation right after a link belongs to the sentence, not the link. */
const trimLink = (s: string): string => s.replace(/[.,;:!?)\]]+$/, '');

/** A word: letters and digits, with inner apostrophes ("O’Brien"); compiled once. */
const WORD_RE = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;
const normalizeWord = (w: string): string => w.toLowerCase().replaceAll('’', "'");

/**
 * Where the patient's names occur, as whole words in any case. Every name differs, so this is a
 * set lookup over the text's words rather than a regular expression built per message (compiling
 * one per send cost more than the rest of the lint). Neighbouring name words joined only by
 * spaces or hyphens are one finding ("Lovelace-Byron", "Ada Lovelace").
 */
function nameSpans(text: string, patientNames: readonly string[]): Array<readonly [number, number]> {
  const parts = new Set(patientNames.flatMap((n) => n.split(/[\s-]+/)).map((w) => normalizeWord(w.trim())).filter((w) => w.length >= 2));
  if (parts.size === 0) return [];
  const spans: Array<[number, number]> = [];
  for (const m of text.matchAll(WORD_RE)) {
    if (!parts.has(normalizeWord(m[0]))) continue;
    const start = m.index;
    const end = start + m[0].length;
    const last = spans.at(-1);
    if (last !== undefined && /^[\s-]+$/.test(text.slice(last[1], start))) last[1] = end;
    else spans.push([start, end]);
  }
  return spans;
}

export function createPhiLinter(opts: PhiLintOptions): PhiLinter {
  const origins = new Set(opts.allowedOrigins.map((o) => new URL(o).origin));
  const phones = new Set((opts.allowedPhoneNumbers ?? []).map(normalizeDigits));
  const emails = new Set((opts.allowedEmails ?? []).map((e) => e.toLowerCase()));
  const vocabulary = [...(opts.vocabulary ?? DEFAULT_VOCABULARY), ...(opts.extraTerms ?? [])];
  const categoryOf = new Map<string, TermCategory>();
  for (const v of vocabulary) categoryOf.set(v.term.toLowerCase().trim().split(/\s+/).join(' '), v.category);
  // Longest first, so "kidney failure" wins over a shorter term inside it.
  const terms = [...categoryOf.keys()].sort((a, b) => b.length - a.length);
  const termRe = terms.length === 0 ? null : new RegExp(`${B_START}(?:${terms.map(termPattern).join('|')})${B_END}`, 'giu');

  return {
    lint(text, ctx = {}) {
      const claimed: Array<readonly [number, number]> = [];
      const found: Array<{ rule: LintRule; offset: number; length: number; kind: string }> = [];
      const overlaps = (start: number, end: number): boolean => claimed.some(([s, e]) => start < e && end > s);
      const scan = (re: RegExp, onMatch: (m: string, offset: number) => { rule: LintRule; kind: string } | 'allow' | null): void => {
        for (const m of text.matchAll(re)) {
          const start = m.index;
          const end = start + m[0].length;
          if (overlaps(start, end)) continue;
          const verdict = onMatch(m[0], start);
          if (verdict === null) continue;
          claimed.push([start, end]);
          if (verdict !== 'allow') found.push({ ...verdict, offset: start, length: end - start });
        }
      };

      scan(EMAIL_RE, (m) => (emails.has(m.toLowerCase()) ? 'allow' : { rule: LintRule.emailAddress, kind: 'an e-mail address' }));
      // Allowed links are claimed too, so a visit token's characters are not read as numbers or terms.
      scan(URL_RE, (m) => {
        const origin = originOf(trimLink(m));
        return origin !== null && origins.has(origin) ? 'allow' : { rule: LintRule.url, kind: 'a link outside the portal' };
      });
      for (const d of DETECTORS) {
        scan(d.re, (m) => (d.rule === LintRule.phoneNumber && phones.has(normalizeDigits(m)) ? 'allow' : { rule: d.rule, kind: d.describe(m) }));
      }
      for (const [start, end] of nameSpans(text, ctx.patientNames ?? [])) {
        if (overlaps(start, end)) continue;
        claimed.push([start, end]);
        found.push({ rule: LintRule.patientName, kind: 'a name from the patient’s record', offset: start, length: end - start });
      }
      if (termRe !== null) {
        scan(termRe, (m) => {
          const category = categoryOf.get(m.toLowerCase().replaceAll('’', "'").split(/\s+/).join(' '));
          return category === undefined ? null : { rule: LintRule.medicalTerm, kind: CATEGORY_KIND[category] };
        });
      }

      found.sort((a, b) => a.offset - b.offset);
      return found.map((f) => {
        const before = text.slice(0, f.offset);
        const line = before.split('\n').length;
        const column = f.offset - (before.lastIndexOf('\n') + 1) + 1;
        return { ...f, line, column, message: `${f.rule}: ${f.kind} at ${line}:${column}` };
      });
    },
  };
}

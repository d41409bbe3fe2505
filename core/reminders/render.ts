/**
 * Turning a template version into the message a patient receives, and the checks that make that
 * safe: at save, the text must use known placeholders only, carry the clinic's name and opt-out
 * instructions, lint clean both as typed and as rendered with every allowed time word, and fit the
 * SMS segment budget; at send, the rendered text is linted again, this time with the recipient's
 * own names, and any finding refuses the send (the worker records a skip, reason `phi_lint`).
 */
import { StartupError } from '../errors.ts';
import { createPhiLinter, type LintFinding, type PhiLinter, type PhiLintOptions } from './phi-lint.ts';
import { smsSize, type SmsSize } from './sms-segments.ts';
import {
  Channel,
  Placeholder,
  SUBJECT_PLACEHOLDERS,
  TIME_WORDS,
  fillPlaceholders,
  isPlaceholder,
  maskPlaceholders,
  placeholderTokens,
  positionOf,
  strayBraces,
  type TimeWord,
} from './template-text.ts';

export interface TemplateContent {
  readonly channel: Channel;
  /** Email only (null for SMS). */
  readonly subject: string | null;
  readonly body: string;
}

export interface ReminderTextSettings {
  /** As recipients should see it; must itself lint clean (no specialty in it: "Riverside Health", not "Riverside Oncology"). */
  readonly clinicName: string;
  /** What `{{portal_link}}` becomes. Its origin is allowed in links. */
  readonly portalUrl: string;
  /** Further origins links may point to (the visit page, if it is served elsewhere). */
  readonly extraOrigins?: readonly string[];
  readonly optOutText?: Readonly<Partial<Record<Channel, string>>>;
  /** The words `{{time_word}}` may become; must include "soon". Default all three. */
  readonly timeWords?: readonly TimeWord[];
  /** Default 3. */
  readonly smsMaxSegments?: number;
  readonly lint?: Omit<PhiLintOptions, 'allowedOrigins'>;
}

export const DEFAULT_OPT_OUT: Readonly<Record<Channel, string>> = {
  sms: 'Reply STOP to opt out.',
  email: 'To stop receiving these reminders, reply to this e-mail with the word UNSUBSCRIBE.',
};

export const DEFAULT_SMS_MAX_SEGMENTS = 3;

export interface RenderVars {
  readonly timeWord: TimeWord;
  /** Required when the template uses `{{visit_link}}`. */
  readonly visitLink?: string;
  /** The recipient's decrypted names, for the render-time lint. Never stored or logged. */
  readonly patientNames?: readonly string[];
}

export interface RenderedMessage {
  readonly channel: Channel;
  readonly subject: string | null;
  readonly text: string;
  /** Email: generated from the text (escaped, links only to allowed origins, no images). */
  readonly html: string | null;
  readonly sms: SmsSize | null;
}

export const RenderFailure = { phiLint: 'phi_lint', smsTooLong: 'sms_too_long', valueMissing: 'template_value_missing' } as const;
export type RenderFailure = (typeof RenderFailure)[keyof typeof RenderFailure];

/** A rendered message that must not be sent. `reason` is a delivery skip reason; messages hold no PHI. */
export class TemplateRenderError extends Error {
  readonly reason: RenderFailure;
  readonly findings: readonly LintFinding[];
  constructor(reason: RenderFailure, message: string, findings: readonly LintFinding[] = []) {
    super(message);
    this.name = 'TemplateRenderError';
    this.reason = reason;
    this.findings = findings;
  }
}

export interface TemplateProblem {
  readonly path: 'subject' | 'body';
  readonly rule: string;
  /** Says the rule and the position; never quotes the text. */
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export interface ReminderText {
  readonly linter: PhiLinter;
  readonly timeWords: readonly TimeWord[];
  /** A stand-in visit link (allowed origin, real length) for previews and save-time checks. */
  readonly sampleVisitLink: string;
  /** Everything wrong with a template's content (empty: acceptable). */
  check(content: TemplateContent): TemplateProblem[];
  /** Throws TemplateRenderError. */
  render(content: TemplateContent, vars: RenderVars): RenderedMessage;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Paragraphs and line breaks from the text; links become anchors (the linter has already limited them to allowed origins). */
export function textToHtml(text: string): string {
  const paragraphs = text.split(/\n{2,}/).map((p) => {
    const linked = escapeHtml(p).replace(/https?:\/\/[^\s<>"]+?(?=[.,;:!?)]*(?:\s|$))/g, (url) => `<a href="${url}">${url}</a>`);
    return `<p>${linked.replaceAll('\n', '<br>\n')}</p>`;
  });
  return `<!doctype html>\n<html><body>\n${paragraphs.join('\n')}\n</body></html>\n`;
}

export function createReminderText(settings: ReminderTextSettings): ReminderText {
  const portalOrigin = new URL(settings.portalUrl).origin;
  const linter = createPhiLinter({ ...settings.lint, allowedOrigins: [portalOrigin, ...(settings.extraOrigins ?? [])] });
  const optOut = { ...DEFAULT_OPT_OUT, ...settings.optOutText };
  const timeWords = settings.timeWords ?? TIME_WORDS;
  const maxSegments = settings.smsMaxSegments ?? DEFAULT_SMS_MAX_SEGMENTS;
  if (!timeWords.includes('soon')) throw new StartupError('reminder time words must include "soon"', 'it is the fallback for appointments further ahead');
  if (!Number.isInteger(maxSegments) || maxSegments < 1 || maxSegments > 10) throw new StartupError('reminder SMS segment limit must be 1–10');
  // The fixed values go into every message: refuse a clinic name or opt-out text that would fail every send.
  for (const [what, value] of [['clinic name', settings.clinicName], ['SMS opt-out text', optOut.sms], ['e-mail opt-out text', optOut.email]] as const) {
    const findings = linter.lint(value);
    if (value.trim() === '' || findings.length > 0) {
      throw new StartupError(`the reminder ${what} is empty or fails the PHI lint (${findings.map((f) => f.rule).join(', ')})`, 'use a neutral name without specialty, dates or numbers');
    }
  }
  // A stand-in of the real visit link's length, for the save-time length and lint checks.
  const sampleVisitLink = `${portalOrigin}/visit/#${'x'.repeat(43)}`;

  const fill = (content: TemplateContent, vars: RenderVars) => {
    const values: Record<Placeholder, string> = {
      clinic_name: settings.clinicName,
      portal_link: settings.portalUrl,
      visit_link: vars.visitLink ?? '',
      opt_out: optOut[content.channel],
      time_word: vars.timeWord,
    };
    return {
      subject: content.subject === null ? null : fillPlaceholders(content.subject, values),
      text: fillPlaceholders(content.body, values),
    };
  };

  const render = (content: TemplateContent, vars: RenderVars): RenderedMessage => {
    if (vars.visitLink === undefined && placeholderTokens(content.body).some((t) => t.name === Placeholder.visitLink)) {
      throw new TemplateRenderError(RenderFailure.valueMissing, 'the template needs a visit link and none was given');
    }
    const { subject, text } = fill(content, vars);
    const ctx = { patientNames: vars.patientNames ?? [] };
    const findings = [...(subject === null ? [] : linter.lint(subject, ctx)), ...linter.lint(text, ctx)];
    if (findings.length > 0) {
      throw new TemplateRenderError(RenderFailure.phiLint, `the rendered message failed the PHI lint: ${findings.map((f) => f.message).join('; ')}`, findings);
    }
    const sms = content.channel === Channel.sms ? smsSize(text) : null;
    if (sms !== null && sms.segments > maxSegments) {
      throw new TemplateRenderError(RenderFailure.smsTooLong, `the rendered SMS needs ${sms.segments} segments; at most ${maxSegments} allowed`);
    }
    return { channel: content.channel, subject, text, html: content.channel === Channel.email ? textToHtml(text) : null, sms };
  };

  const checkPart = (path: 'subject' | 'body', text: string): TemplateProblem[] => {
    const problems: TemplateProblem[] = [];
    const at = (offset: number) => positionOf(text, offset);
    const add = (rule: string, what: string, offset?: number) => {
      const pos = offset === undefined ? undefined : at(offset);
      problems.push({ path, rule, message: `${rule}: ${what}${pos === undefined ? '' : ` at ${pos.line}:${pos.column}`}`, ...(pos === undefined ? {} : { line: pos.line, column: pos.column }) });
    };
    const control = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u.exec(text);
    if (control !== null) add('control_character', 'an invisible or control character', control.index);
    if (path === 'subject' && text.includes('\n')) add('subject_multiline', 'a line break in the subject', text.indexOf('\n'));
    for (const offset of strayBraces(text)) add('malformed_placeholder', 'an unmatched {{ or }}', offset);
    for (const t of placeholderTokens(text)) {
      if (!isPlaceholder(t.name)) add('unknown_placeholder', `an unknown placeholder (allowed: ${Object.values(Placeholder).join(', ')})`, t.offset);
      else if (path === 'subject' && !SUBJECT_PLACEHOLDERS.has(t.name)) add('placeholder_not_allowed_here', `a placeholder the subject may not use (allowed: ${[...SUBJECT_PLACEHOLDERS].join(', ')})`, t.offset);
    }
    for (const f of linter.lint(maskPlaceholders(text))) problems.push({ path, rule: f.rule, message: f.message, line: f.line, column: f.column });
    return problems;
  };

  return {
    linter,
    timeWords,
    sampleVisitLink,
    check(content) {
      const problems = [...(content.subject === null ? [] : checkPart('subject', content.subject)), ...checkPart('body', content.body)];
      const used = new Set(placeholderTokens(content.body).map((t) => t.name));
      for (const required of [Placeholder.clinicName, Placeholder.optOut]) {
        if (!used.has(required)) problems.push({ path: 'body', rule: 'missing_placeholder', message: `missing_placeholder: the body must contain {{${required}}}` });
      }
      if (problems.length > 0) return problems;
      // Typed text is clean; now what placeholders add, for every word the clinic allows.
      for (const timeWord of timeWords) {
        try {
          render(content, { timeWord, visitLink: sampleVisitLink });
        } catch (err) {
          if (!(err instanceof TemplateRenderError)) throw err;
          const rule = err.reason === RenderFailure.phiLint ? (err.findings[0]?.rule ?? err.reason) : err.reason;
          problems.push({ path: 'body', rule, message: `${err.message} (rendered with time word "${timeWord}")` });
          break;
        }
      }
      return problems;
    },
    render,
  };
}

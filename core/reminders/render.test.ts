/**
 * Template checks at save, rendering at send, SMS segment counting and the time word.
 */
import { describe, expect, it } from 'vitest';
import { RenderFailure, TemplateRenderError, createReminderText, textToHtml, type TemplateContent } from './render.ts';
import { smsSize } from './sms-segments.ts';
import { timeWordFor } from './template-text.ts';

const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.clinic.example/signin' });
const CANONICAL = 'Hi, this is {{clinic_name}}. You have an appointment {{time_word}}. Join at {{portal_link}}. {{opt_out}}';
const sms = (body: string): TemplateContent => ({ channel: 'sms', subject: null, body });
const rulesOf = (c: TemplateContent) => text.check(c).map((p) => p.rule);

describe('template checks', () => {
  it('accepts ordinary reminder wording on both channels', () => {
    expect(text.check(sms(CANONICAL))).toEqual([]);
    expect(text.check(sms('{{clinic_name}}: your visit is {{time_word}}. Join: {{visit_link}} {{opt_out}}'))).toEqual([]);
    expect(text.check({ channel: 'email', subject: 'A reminder from {{clinic_name}}', body: `Hello,\n\n${CANONICAL}\n` })).toEqual([]);
  });

  it.each([
    ['an unknown placeholder', 'Hi {{patient_name}}, {{clinic_name}} {{opt_out}}', 'unknown_placeholder'],
    ['a misspelt placeholder', '{{clinic_name}} {{timeword}} {{opt_out}}', 'unknown_placeholder'],
    ['a stray brace pair', '{{clinic_name}} see you {{time_word} {{opt_out}}', 'malformed_placeholder'],
    ['no opt-out', 'This is {{clinic_name}}, see you {{time_word}}', 'missing_placeholder'],
    ['no clinic name', 'See you {{time_word}}. {{opt_out}}', 'missing_placeholder'],
    ['a literal date', '{{clinic_name}}: see you on 4/12. {{opt_out}}', 'date'],
    ['a specialty', '{{clinic_name}} oncology: see you {{time_word}}. {{opt_out}}', 'medical_term'],
    ['a foreign link', '{{clinic_name}}: results at http://bit.ly/x {{opt_out}}', 'url'],
    ['a control character', '{{clinic_name}}\u0007 {{opt_out}}', 'control_character'],
    ['a bidi override', '{{clinic_name}}\u202e {{opt_out}}', 'control_character'],
    ['a greeting that becomes a name once rendered', 'Hello {{clinic_name}}! {{opt_out}}', 'person_name'],
  ])('refuses %s', (_what, body, rule) => {
    expect(rulesOf(sms(body))).toContain(rule);
  });

  it('gives the position of an unknown placeholder', () => {
    const [p] = text.check(sms('{{clinic_name}} {{opt_out}}\nHi {{first_name}}'));
    expect(p).toEqual({ path: 'body', rule: 'unknown_placeholder', line: 2, column: 4, message: expect.stringMatching(/^unknown_placeholder: .* at 2:4$/) as unknown });
  });

  it('limits the subject to plain words and the clinic name', () => {
    const email = (subject: string): TemplateContent => ({ channel: 'email', subject, body: CANONICAL });
    expect(text.check(email('Reminder from {{clinic_name}} {{portal_link}}')).map((p) => [p.path, p.rule])).toEqual([['subject', 'placeholder_not_allowed_here']]);
    expect(text.check(email('Your HIV clinic')).map((p) => [p.path, p.rule])).toEqual([['subject', 'medical_term']]);
    expect(text.check(email('Two\nlines')).map((p) => p.rule)).toEqual(['subject_multiline']);
  });

  it('refuses SMS text that would exceed the segment budget with the real values', () => {
    const long = `${CANONICAL} ${'Please arrive a little early. '.repeat(12)}`;
    expect(smsSize(long.replace(/\{\{[a-z_]+\}\}/g, '')).segments).toBe(3); // fits as typed…
    expect(rulesOf(sms(long))).toEqual(['sms_too_long']); // …but not once the placeholders are filled
    const one = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.clinic.example', smsMaxSegments: 1 });
    expect(one.check(sms(CANONICAL))).toEqual([]);
    expect(one.check(sms(`${CANONICAL} Thank you, we look forward to seeing you.`)).map((p) => p.rule)).toEqual(['sms_too_long']);
  });

  it('refuses settings that would fail every message', () => {
    expect(() => createReminderText({ clinicName: 'Riverside Oncology', portalUrl: 'https://portal.clinic.example' })).toThrow(/clinic name/);
    expect(() => createReminderText({ clinicName: 'Riverside', portalUrl: 'https://portal.clinic.example', optOutText: { sms: 'Call 555-867-5309 to stop' } })).toThrow(/SMS opt-out/);
    expect(() => createReminderText({ clinicName: 'Riverside', portalUrl: 'https://portal.clinic.example', timeWords: ['today'] })).toThrow(/soon/);
  });
});

describe('rendering', () => {
  it('fills the placeholders with channel-specific opt-out text', () => {
    const r = text.render(sms(CANONICAL), { timeWord: 'tomorrow' });
    expect(r.text).toBe('Hi, this is Riverside Health. You have an appointment tomorrow. Join at https://portal.clinic.example/signin. Reply STOP to opt out.');
    expect(r.sms).toEqual({ encoding: 'gsm7', units: r.text.length, segments: 1 });
    expect(r.html).toBeNull();
    const e = text.render({ channel: 'email', subject: '{{clinic_name}} reminder', body: CANONICAL }, { timeWord: 'soon' });
    expect(e.subject).toBe('Riverside Health reminder');
    expect(e.text).toContain('reply to this e-mail with the word UNSUBSCRIBE');
    expect(e.html).toContain('<a href="https://portal.clinic.example/signin">https://portal.clinic.example/signin</a>.');
  });

  it('refuses a message that names the recipient, as a typed phi_lint error without the name', () => {
    const content = sms('{{clinic_name}}: Riverside Health visit {{time_word}}. {{opt_out}}');
    expect(text.render(content, { timeWord: 'today', patientNames: ['Maria', 'Gomez'] }).text).toContain('Riverside');
    let caught: unknown;
    try {
      text.render(content, { timeWord: 'today', patientNames: ['Ann', 'Riverside'] });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TemplateRenderError);
    const e = caught as TemplateRenderError;
    expect(e.reason).toBe(RenderFailure.phiLint);
    expect(e.findings.map((f) => f.rule)).toEqual(['patient_name', 'patient_name']);
    expect(e.message).not.toMatch(/Riverside|Ann/);
  });

  it('needs a visit link when the template uses one', () => {
    const content = sms('{{clinic_name}}: join {{visit_link}} {{opt_out}}');
    expect(() => text.render(content, { timeWord: 'soon' })).toThrow(expect.objectContaining({ reason: RenderFailure.valueMissing }) as Error);
    expect(text.render(content, { timeWord: 'soon', visitLink: text.sampleVisitLink }).text).toContain('/visit/#');
    expect(() => text.render(content, { timeWord: 'soon', visitLink: 'https://elsewhere.example/v/1' })).toThrow(expect.objectContaining({ reason: RenderFailure.phiLint }) as Error);
  });

  it('makes HTML that escapes the text and loads nothing remote', () => {
    const html = textToHtml('A <img src="https://x.example/p.png"> & "b"\nline two\n\nnext');
    expect(html).not.toMatch(/<img|src="/);
    expect(html).toContain('&#60;img src=&#34;');
    expect(html).toContain('line two');
    expect(html).toMatch(/<br>\nline two<\/p>\n<p>next<\/p>/);
  });
});

describe('SMS size', () => {
  it.each([
    ['', 'gsm7', 0, 0],
    ['a'.repeat(160), 'gsm7', 160, 1],
    ['a'.repeat(161), 'gsm7', 161, 2],
    ['a'.repeat(306), 'gsm7', 306, 2],
    ['a'.repeat(307), 'gsm7', 307, 3],
    ['€'.repeat(80), 'gsm7', 160, 1],
    ['a'.repeat(152) + '€', 'gsm7', 154, 1],
    ['a'.repeat(159) + '€', 'gsm7', 161, 2],
    ['é'.repeat(70), 'gsm7', 70, 1],
    ['ł'.repeat(70), 'ucs2', 70, 1],
    ['ł'.repeat(71), 'ucs2', 71, 2],
    ['😀'.repeat(35), 'ucs2', 70, 1],
    ['a' + '😀'.repeat(33) + 'b', 'ucs2', 68, 1],
    ['a'.repeat(66) + '😀', 'ucs2', 68, 1],
    ['a'.repeat(66) + '😀' + 'a'.repeat(3), 'ucs2', 71, 2],
  ])('sizes %#', (input, encoding, units, segments) => {
    expect(smsSize(input)).toEqual({ encoding, units, segments });
  });

  it('does not split an escape pair across segments', () => {
    // 152 septets then a 2-septet € does not fit in the first 153-septet segment.
    expect(smsSize('a'.repeat(152) + '€' + 'a'.repeat(152)).segments).toBe(3);
    expect(smsSize('a'.repeat(153) + 'a'.repeat(153)).segments).toBe(2);
  });
});

describe('time word', () => {
  const now = new Date('2025-03-14T22:30:00Z'); // 18:30 in New York, already the 15th in Tokyo
  it.each([
    ['2025-03-15T01:00:00Z', 'America/New_York', 'today'], // 21:00 the same evening
    ['2025-03-15T16:00:00Z', 'America/New_York', 'tomorrow'],
    ['2025-03-16T16:00:00Z', 'America/New_York', 'soon'],
    ['2025-03-15T01:00:00Z', 'Asia/Tokyo', 'today'], // both on the 15th there
    ['2025-03-15T16:00:00Z', 'Asia/Tokyo', 'tomorrow'],
    ['2025-03-15T01:00:00Z', 'Not/AZone', 'soon'],
  ] as const)('%s in %s is %s', (startsAt, zone, word) => {
    expect(timeWordFor(new Date(startsAt), now, zone)).toBe(word);
  });

  it('uses only the words the clinic allows', () => {
    expect(timeWordFor(new Date('2025-03-15T16:00:00Z'), now, 'America/New_York', ['today', 'soon'])).toBe('soon');
  });

  it('counts a DST-change day as one day', () => {
    // US clocks went forward on 2025-03-09.
    expect(timeWordFor(new Date('2025-03-09T15:00:00Z'), new Date('2025-03-08T15:00:00Z'), 'America/New_York')).toBe('tomorrow');
  });
});

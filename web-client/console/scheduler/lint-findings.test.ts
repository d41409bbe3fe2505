/**
 * The editor finds the flagged words again from the gateway's findings (rule and line:column,
 * never the text): checked against the real template check, so a change in how the gateway
 * counts positions breaks this test rather than the highlighting.
 */
import { describe, expect, it } from 'vitest';
import { createReminderText } from '../../../core/reminders/render.ts';
import { highlight, offsetOf, toFlags } from './lint-findings.ts';

const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.clinic.example' });
const flagsOf = (body: string, subject: string | null = null) =>
  toFlags(text.check({ channel: subject === null ? 'sms' : 'email', subject, body }), { subject: subject ?? '', body });

describe('template findings in the editor', () => {
  it('finds the words each rule flagged, across lines, and says what to do', () => {
    const body = 'Hi Ada, this is {{clinic_name}}.\nYour visit on 03/04/2031 at 10:30 am, DOB 1990-01-02.\nCall 555-123-4567. {{opt_out}}';
    const flags = flagsOf(body);
    expect(flags.map((f) => `${f.rule}: ${f.words ?? '?'}`).sort()).toEqual(['clock_time: 10:30 am', 'date: 03/04/2031', 'date: 1990-01-02', 'date_of_birth: DOB', 'person_name: Hi Ada', 'phone_number: 555-123-4567']);
    expect(flags.find((f) => f.rule === 'phone_number')).toMatchObject({ where: 'line 3, column 6', title: 'A phone number' });
    expect(flags.every((f) => f.advice.length > 0)).toBe(true);
  });

  it('flags a diagnosis term and a missing placeholder, and a subject finding points into the subject', () => {
    const flags = flagsOf('Your diabetes check is {{time_word}}: {{portal_link}}', 'Dear Grace');
    expect(flags.map((f) => [f.path, f.rule, f.words ?? null])).toEqual(
      expect.arrayContaining([
        ['subject', 'person_name', 'Dear Grace'],
        ['body', 'medical_term', expect.stringMatching(/^diabetes/) as unknown],
        ['body', 'missing_placeholder', null],
      ]),
    );
    expect(flags.find((f) => f.rule === 'missing_placeholder')?.where).toBeUndefined();
  });

  it('has nothing to say about a clean template', () => {
    expect(flagsOf('This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}')).toEqual([]);
  });

  it('cuts the text into plain and flagged pieces (overlaps merged) and maps line:column to offsets', () => {
    const body = 'Hi Ada at 10:30. {{opt_out}}';
    const pieces = highlight(body, flagsOf(body));
    expect(pieces.filter((p) => p.flagged).map((p) => p.text)).toEqual(['Hi Ada', '10:30']);
    expect(pieces.map((p) => p.text).join('')).toBe(body);
    expect(offsetOf('ab\ncd', 2, 2)).toBe(4);
    expect(offsetOf('ab', 3, 1)).toBeUndefined();
  });
});

/**
 * The PHI linter: identifying text is refused with the rule and position and without echoing it;
 * ordinary reminder wording passes.
 */
import { describe, expect, it } from 'vitest';
import { LintRule, createPhiLinter } from './phi-lint.ts';

const linter = createPhiLinter({
  allowedOrigins: ['https://portal.clinic.example'],
  allowedPhoneNumbers: ['+1 (555) 010-4477'],
  allowedEmails: ['frontdesk@clinic.example'],
});
const rules = (text: string, patientNames?: readonly string[]) => linter.lint(text, patientNames === undefined ? {} : { patientNames }).map((f) => f.rule);

describe('PHI linter', () => {
  it.each([
    ['a US phone number', 'Questions? Call 555-867-5309.', LintRule.phoneNumber],
    ['a parenthesised phone number', 'Call (555) 867-5309 today', LintRule.phoneNumber],
    ['a dotted phone number', 'Call 555.867.5309', LintRule.phoneNumber],
    ['an E.164 number', 'Text +447911123456 back', LintRule.phoneNumber],
    ['an international number with spaces', 'Ring +44 20 7946 0958', LintRule.phoneNumber],
    ['an SSN', 'Your SSN ends with 123-45-6789', LintRule.ssn],
    ['the SSN label alone', 'Bring your social security number', LintRule.ssn],
    ['an MRN with its label', 'Your MRN: A1234567 is ready', LintRule.mrn],
    ['a medical record number label', 'Quote your medical record number when calling', LintRule.mrn],
    ['a long identifier', 'Reference 20240314 attached', LintRule.longNumber],
    ['a prefixed identifier', 'Case ZX-9938271 updated', LintRule.longNumber],
    ['an ISO date', 'See you on 2025-03-14.', LintRule.date],
    ['a US numeric date', 'See you on 3/14/2025.', LintRule.date],
    ['a short numeric date', 'See you on 3/14', LintRule.date],
    ['a European dotted date', 'Termin am 14.03.25', LintRule.date],
    ['a month-name date', 'Your visit is on March 14th', LintRule.date],
    ['an abbreviated month-name date with year', 'Your visit: Mar. 14, 2025', LintRule.date],
    ['a day-month date', 'on the 14th of March', LintRule.date],
    ['a month and year', 'scheduled for September 2025', LintRule.date],
    ['a lower-case month', 'see you june 3', LintRule.date],
    ['a date of birth label', 'Please confirm your DOB', LintRule.dateOfBirth],
    ['date of birth in words', 'Confirm your date of birth at check-in', LintRule.dateOfBirth],
    ['a clock time', 'Your visit is at 3:30 PM', LintRule.clockTime],
    ['a 24-hour time', 'Arrive by 14:45', LintRule.clockTime],
    ['an hour with am/pm', 'Doors open 9am', LintRule.clockTime],
    ['a time followed by a colon', 'Your visit at 10:30: {{portal_link}}', LintRule.clockTime],
    ['a time with seconds', 'Starts 10:30:15 sharp', LintRule.clockTime],
    ['an e-mail address', 'Write to jane.doe@gmail.com', LintRule.emailAddress],
    ['a foreign https link', 'Details at https://evil.example/x', LintRule.url],
    ['a look-alike of the portal', 'Join at https://portal.clinic.example.evil.io/visit', LintRule.url],
    ['the portal host over another port', 'Join at https://portal.clinic.example:8443/', LintRule.url],
    ['a www link', 'Visit www.example.org for more', LintRule.url],
    ['a bare domain', 'Go to myhealth-results.com/abc', LintRule.url],
    ['a titled name', 'Dr. Patel will see you', LintRule.personName],
    ['a titled name without a period', 'Mrs Okafor, your visit is soon', LintRule.personName],
    ['a greeting with a name', 'Hello Maria, see you soon', LintRule.personName],
    ['a specialty', 'Your oncology appointment is soon', LintRule.medicalTerm],
    ['an upper-case diagnosis', 'Your HIV clinic visit', LintRule.medicalTerm],
    ['a medication', 'Remember to bring your insulin', LintRule.medicalTerm],
    ['a treatment', 'before your chemotherapy session', LintRule.medicalTerm],
    ['methadone', 'methadone dosing visit', LintRule.medicalTerm],
    ['psychiatry', 'Psychiatry follow-up', LintRule.medicalTerm],
    ['dialysis', 'dialysis chair 4 is ready', LintRule.medicalTerm],
    ['pregnancy', 'your pregnancy check', LintRule.medicalTerm],
    ['an STD name', 'syphilis screening results', LintRule.medicalTerm],
    ['a multi-word term across a line break', 'your mental\nhealth visit', LintRule.medicalTerm],
    ['a hyphenated term', 'the OB-GYN desk', LintRule.medicalTerm],
    ['a term with a typographic apostrophe', 'Alzheimer’s day programme', LintRule.medicalTerm],
  ])('refuses %s', (_what, text, rule) => {
    expect(rules(text)).toContain(rule);
  });

  it.each([
    ['the canonical reminder', 'Hi, this is Riverside Health. You have an appointment tomorrow. Join at https://portal.clinic.example/visit/#AbC-hiv_123456789. Reply STOP to opt out.'],
    ['an e-mail style reminder', 'Hello,\n\nThis is a reminder from Riverside Health that you have an appointment soon.\n\nPlease sign in at https://portal.clinic.example/ a few minutes early.\n\nTo stop receiving these reminders, reply to this e-mail with the word UNSUBSCRIBE.'],
    ['the portal link at the end of a sentence', 'Sign in at https://portal.clinic.example.'],
    ['the clinic’s own number', 'To reschedule call 555-010-4477.'],
    ['the clinic’s own address', 'Questions? Write to frontdesk@clinic.example'],
    ['ordinary words that contain terms', 'Please arrive early; preparation helps. Hivemind, aidsless? Prepare your device.'],
    ['the modal verb may', 'You may join from a phone or a computer.'],
    ['a generic greeting', 'Hi there, Hello Everyone, Dear Patient'],
    ['small numbers', 'It takes 2 minutes and 1 click, in 3 steps.'],
    ['a weekday word', 'We look forward to seeing you this week.'],
    ['time words', 'Your appointment is today. Your appointment is tomorrow. Your appointment is soon.'],
    ['Spanish wording', 'Hola, le recordamos su cita mañana. Entre en https://portal.clinic.example/ . Responda STOP para cancelar.'],
  ])('accepts %s', (_what, text) => {
    expect(linter.lint(text)).toEqual([]);
  });

  it('says which rule fired and where, without quoting the matched text', () => {
    const text = 'Hi,\nthis is the clinic. Call 555-867-5309 about your HIV results.';
    const findings = linter.lint(text);
    expect(findings.map((f) => [f.rule, f.line, f.column])).toEqual([
      [LintRule.phoneNumber, 2, 26],
      [LintRule.medicalTerm, 2, 50],
    ]);
    expect(findings[0]?.message).toBe('phone_number: a 10-digit phone number at 2:26');
    expect(findings[1]?.message).toBe('medical_term: a diagnosis term at 2:50');
    expect(text.slice(findings[0]?.offset, (findings[0]?.offset ?? 0) + (findings[0]?.length ?? 0))).toBe('555-867-5309');
    for (const f of findings) expect(f.message).not.toMatch(/555|867|5309|HIV/i);
  });

  it('reports a phone number once, not also as a long number', () => {
    expect(rules('Call 5558675309 now')).toEqual([LintRule.phoneNumber]);
  });

  it('refuses the patient’s own names at render time, whole words only, in any case', () => {
    const names = ['Ada', 'Lovelace-Byron'];
    expect(rules('Good news, ADA: see you soon', names)).toEqual([LintRule.patientName]);
    expect(rules('a note for byron', names)).toEqual([LintRule.patientName]);
    expect(rules('a note for lovelace-byron', names)).toEqual([LintRule.patientName]);
    expect(rules('Adapted for you, soon', names)).toEqual([]);
    expect(rules('Good news, Ada')).toEqual([]); // without the record, a bare first name is not detectable
    // A full name is one finding; typographic apostrophes match typed ones.
    expect(linter.lint('see you soon, ada  lovelace!', { patientNames: ['Ada', 'Lovelace'] }).map((f) => [f.rule, f.column, f.length])).toEqual([[LintRule.patientName, 15, 13]]);
    expect(rules('for O’Brien, soon', ["O'Brien"])).toEqual([LintRule.patientName]);
    expect(rules('for Brien, soon', ["O'Brien"])).toEqual([]);
  });

  it('takes a clinic vocabulary instead of, or on top of, the default', () => {
    const custom = createPhiLinter({ allowedOrigins: ['https://portal.clinic.example'], vocabulary: [{ term: 'wound care', category: 'specialty' }] });
    expect(custom.lint('your wound care visit').map((f) => f.kind)).toEqual(['a specialty term']);
    expect(custom.lint('your oncology visit')).toEqual([]);
    const extra = createPhiLinter({ allowedOrigins: ['https://portal.clinic.example'], extraTerms: [{ term: 'sleep clinic', category: 'specialty' }] });
    expect(extra.lint('the Sleep Clinic and oncology').map((f) => f.rule)).toEqual([LintRule.medicalTerm, LintRule.medicalTerm]);
  });
});

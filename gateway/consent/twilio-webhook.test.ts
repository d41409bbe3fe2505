/**
 * The Twilio inbound-SMS webhook through the real app on both engines, with signatures computed
 * by the twilio library itself: keywords change consent once per MessageSid, HELP answers without
 * PHI, unsigned / wrongly signed requests are 403 and audited, unknown numbers leave no trace.
 */
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../../test/helpers/databases.ts';
import { CLINIC_NAME, consentPerTest, TWILIO_AUTH_TOKEN, WEBHOOK_URL, type ConsentHarness } from './test-fixtures/consent-harness.ts';
import { TWILIO_SMS_PATH } from './twilio-webhook.ts';

const PHONE = '+15555550123';
const sid = () => `SM${randomBytes(16).toString('hex')}`;

function sms(h: ConsentHarness, params: Record<string, string>, signature: string | null = twilio.getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, WEBHOOK_URL, params)) {
  return h.app.request(TWILIO_SMS_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature === null ? {} : { 'x-twilio-signature': signature }) },
    body: new URLSearchParams(params).toString(),
  });
}

const inbound = (body: string, from = PHONE, messageSid = sid()) => ({ MessageSid: messageSid, SmsSid: messageSid, AccountSid: `AC${'0'.repeat(32)}`, From: from, To: '+15555559999', Body: body, NumMedia: '0' });

const countRows = async (h: ConsentHarness, table: 'audit_log' | 'consent_records') => ((await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]?.n ?? -1);

describe.each(ENGINES)('Twilio SMS webhook (%s)', (kind) => {
  const harness = consentPerTest(kind);

  const patientWithPhone = async (h: ConsentHarness) => {
    const patient = await h.seedPatient({ givenName: 'Zelda', familyName: 'Fitzgerald' });
    await h.contacts.indexContact(patient, 'phone', PHONE);
    await h.ledger.record({ patientId: patient, channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: 'form-1' }, { actorType: 'system', actorId: 'test' });
    return patient;
  };
  const smsState = async (h: ConsentHarness, patient: string) =>
    Promise.all((['appointment_reminders', 'general_outreach'] as const).map(async (p) => {
      const c = await h.ledger.currentFor(patient, 'sms', p);
      return c === null ? null : [c.version, c.state];
    }));

  it('revokes every SMS purpose on an opt-out keyword, once per MessageSid, and re-consents on START', async () => {
    const h = harness();
    const patient = await patientWithPhone(h);
    const stop = inbound('Stop. Thanks');

    const first = await sms(h, stop);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await first.text()).toMatch(/<Response\/>$/);
    expect(await smsState(h, patient)).toEqual([[2, 'revoked'], [1, 'revoked']]);
    const history = await h.ledger.history(patient);
    expect(history.filter((r) => r.method === 'keyword').map((r) => [r.evidenceRef, r.recordedBy])).toEqual([
      [stop.MessageSid, 'sms-keyword'],
      [stop.MessageSid, 'sms-keyword'],
    ]);

    // Twilio redelivers the same message: nothing new.
    const [consents, audits] = [await countRows(h, 'consent_records'), await countRows(h, 'audit_log')];
    expect((await sms(h, stop)).status).toBe(200);
    expect([await countRows(h, 'consent_records'), await countRows(h, 'audit_log')]).toEqual([consents, audits]);

    expect((await sms(h, inbound('START'))).status).toBe(200);
    expect(await smsState(h, patient)).toEqual([[3, 'granted'], [1, 'revoked']]);
    // A late redelivery of the old STOP must not undo the START.
    await sms(h, stop);
    expect(await smsState(h, patient)).toEqual([[3, 'granted'], [1, 'revoked']]);

    await sms(h, inbound('stop please', '+1 (555) 555-0123'));
    expect(await smsState(h, patient)).toEqual([[4, 'revoked'], [2, 'revoked']]);

    const revokes = await h.auditRows('consent.revoke');
    expect(revokes).toHaveLength(4);
    expect(revokes.every((r) => r.actor_type === 'system' && r.actor_id === 'sms-keyword' && r.patient_id === patient)).toBe(true);
    expect(JSON.stringify(revokes)).not.toMatch(/5555550123|Zelda/);
  });

  it('answers HELP with the clinic and how to opt out, the same for unknown numbers, and ignores other text', async () => {
    const h = harness();
    const patient = await patientWithPhone(h);
    const known = await (await sms(h, inbound('help'))).text();
    expect(known).toContain(`<Message>${CLINIC_NAME}`);
    expect(known).toContain('Reply STOP');
    expect(known).not.toMatch(/Zelda|Fitzgerald|5555550123/);
    const unknownHelp = await (await sms(h, inbound('HELP', '+15555550100'))).text();
    expect(unknownHelp).toBe(known);

    const before = [await countRows(h, 'consent_records'), await countRows(h, 'audit_log')];
    const chat = await sms(h, inbound('Can I stop by earlier tomorrow?'));
    expect(await chat.text()).toMatch(/<Response\/>$/);
    // An unknown number's STOP gets the same answer as a known one's, and leaves no record at all.
    const unknownStop = await sms(h, inbound('STOP', '+15555550100'));
    expect(unknownStop.status).toBe(200);
    expect(await unknownStop.text()).toMatch(/<Response\/>$/);
    expect([await countRows(h, 'consent_records'), await countRows(h, 'audit_log')]).toEqual(before);
    expect(await smsState(h, patient)).toEqual([[1, 'granted'], null]);
  });

  it('refuses unsigned, wrongly signed and tampered requests with 403 and an audit record', async () => {
    const h = harness();
    const patient = await patientWithPhone(h);
    const stop = inbound('STOP');

    const unsigned = await sms(h, stop, null);
    expect(unsigned.status).toBe(403);
    expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await sms(h, stop, twilio.getExpectedTwilioSignature('some-other-token', WEBHOOK_URL, stop))).status).toBe(403);
    expect((await sms(h, stop, twilio.getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, 'https://evil.example/webhooks/twilio/sms', stop))).status).toBe(403);
    const signedForHelp = twilio.getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, WEBHOOK_URL, { ...stop, Body: 'HELP' });
    expect((await sms(h, stop, signedForHelp)).status).toBe(403);
    // Signed but sent as JSON: the signed form parameters are not there.
    const json = await h.app.request(TWILIO_SMS_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-twilio-signature': twilio.getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, WEBHOOK_URL, stop) },
      body: JSON.stringify(stop),
    });
    expect(json.status).toBe(403);

    expect(await smsState(h, patient)).toEqual([[1, 'granted'], null]);
    const refused = await h.auditRows('webhook.refused');
    expect(refused.map((r) => [r.outcome, r.actor_type, r.resource_id, r.details['reason']])).toEqual([
      ['denied', 'anonymous', 'twilio.sms', 'signature_missing'],
      ...Array.from({ length: 4 }, () => ['denied', 'anonymous', 'twilio.sms', 'signature_invalid']),
    ]);

    // The genuine request still works, and a signed request missing its parameters is a 400.
    expect((await sms(h, stop)).status).toBe(200);
    expect(await smsState(h, patient)).toEqual([[2, 'revoked'], [1, 'revoked']]);
    expect((await sms(h, { From: PHONE, Body: 'STOP' })).status).toBe(400);
  });
});

describe('Twilio SMS webhook with keyword confirmations', () => {
  const harness = consentPerTest('pglite', { confirmKeywords: true });

  it('confirms STOP and START identically for known and unknown numbers', async () => {
    const h = harness();
    const patient = await h.seedPatient();
    await h.contacts.indexContact(patient, 'phone', PHONE);
    const known = await (await sms(h, inbound('UNSUBSCRIBE'))).text();
    const unknown = await (await sms(h, inbound('UNSUBSCRIBE', '+15555550100'))).text();
    expect(known).toContain('no more text messages');
    expect(unknown).toBe(known);
    expect((await h.ledger.currentFor(patient, 'sms', 'general_outreach'))?.state).toBe('revoked');
    expect(await (await sms(h, inbound('start'))).text()).toContain('are on again');
  });
});

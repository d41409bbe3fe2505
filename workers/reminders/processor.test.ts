/**
 * The send-time decisions of one reminder against the real stores (PGlite): consent ledger,
 * encrypted patient records, versioned PHI-linted templates, campaigns. The channel is the
 * boundary under test here: a recorder stands in for it (the twilio and SMTP adapters have their
 * own tests against a local Twilio API and a real SMTP server).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuditLog } from '../../core/audit/index.ts';
import { createCampaignStore } from '../../core/campaigns/store.ts';
import { createConsentLedger } from '../../core/consent/index.ts';
import { createMasterKeyring, createPatientCipher, generateMasterKey } from '../../core/crypto/index.ts';
import { createPatientStore, createRecipientReader } from '../../core/patients/index.ts';
import { createReminderText } from '../../core/reminders/render.ts';
import { createTemplateStore } from '../../core/reminders/templates.ts';
import { insertStaff, userCtx } from '../../core/appointments/test-fixtures/rows.ts';
import { testDbPerTest } from '../../test/helpers/databases.ts';
import { createDeliveryRows } from './delivery-rows.ts';
import { reminderPorts } from './ports.ts';
import { processDelivery, type OutgoingMessage, type ProcessorPorts } from './processor.ts';
import { allPending } from '../../core/campaigns/test-fixtures/pending.ts';

const open = testDbPerTest('pglite');
// Monday 2031-03-03 15:00 UTC: 10:00 in New York, inside the sending window.
const NOON = new Date('2031-03-03T15:00:00Z');

async function world() {
  const { db } = await open();
  const audit = createAuditLog(db);
  const keyring = createMasterKeyring(generateMasterKey());
  const cipher = createPatientCipher({ db, keyring });
  const patients = createPatientStore({ db, audit, cipher });
  const ledger = createConsentLedger({ db, audit });
  const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.example.org' });
  const templates = createTemplateStore({ db, audit, text });
  const campaigns = createCampaignStore({ db, audit });
  const schedulerId = await insertStaff(db, 'scheduler');
  const providerId = await insertStaff(db, 'provider');
  const ctx = userCtx(schedulerId);
  const patient = async (givenName: string, consent: 'granted' | 'revoked' | null) => {
    const { id } = await patients.create({ givenName, familyName: 'Lovelace', birthDate: '1990-04-01', phone: '+15555550123', email: 'ada@example.org', timeZone: 'America/New_York' }, ctx);
    if (consent !== null) await ledger.record({ patientId: id, channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: 'form-1' }, ctx);
    if (consent === 'revoked') await ledger.record({ patientId: id, channel: 'sms', purpose: 'appointment_reminders', state: 'revoked', method: 'verbal' }, ctx);
    await db.query("INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes')", [
      randomUUID(),
      id,
      providerId,
      new Date(NOON.getTime() + 26 * 3_600_000),
    ]);
    return id;
  };
  const yes = await patient('Ada', 'granted');
  const revoked = await patient('Grace', 'revoked');
  const never = await patient('Edsger', null);
  const { template } = await templates.save({ name: 'tomorrow-sms', channel: 'sms', body: 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}' }, ctx);
  const campaign = await campaigns.create(
    { channel: 'sms', purpose: 'appointment_reminders', templateId: template.id, templateVersion: template.version, selector: { kind: 'window', from: NOON, to: new Date(NOON.getTime() + 48 * 3_600_000) } },
    ctx,
  );
  const deliveries = await allPending(campaigns, campaign.id);
  const sent: OutgoingMessage[] = [];
  let clock = NOON;
  let reconcileAnswer: string | null | undefined = null;
  const ports: ProcessorPorts = {
    rows: createDeliveryRows({ db, audit }),
    ...reminderPorts({ ledger, recipients: createRecipientReader({ db, cipher }), templates, timeWords: text.timeWords, now: () => clock }),
    send: (_channel, m) => {
      sent.push(m);
      return Promise.resolve({ providerMessageId: `SM${randomUUID().replaceAll('-', '')}` });
    },
    reconcile: () => Promise.resolve(reconcileAnswer),
    now: () => clock,
  };
  const deliveryOf = (patientId: string): string => {
    const d = deliveries.find((x) => x.patientId === patientId);
    if (d === undefined) throw new Error('no delivery for that patient');
    return d.id;
  };
  return {
    db,
    ports,
    sent,
    campaign,
    campaigns,
    ids: { yes, revoked, never },
    deliveryOf,
    setClock: (d: Date) => (clock = d),
    setReconcile: (v: string | null | undefined) => (reconcileAnswer = v),
  };
}

describe('reminder processor (real stores)', () => {
  it('sends only where consent is granted now, skips the rest with reasons, and audits evidence without the text', async () => {
    const w = await world();
    expect(await processDelivery(w.deliveryOf(w.ids.yes), w.ports)).toMatchObject({ kind: 'sent' });
    expect(await processDelivery(w.deliveryOf(w.ids.revoked), w.ports)).toEqual({ kind: 'skipped', reason: 'consent_revoked' });
    expect(await processDelivery(w.deliveryOf(w.ids.never), w.ports)).toEqual({ kind: 'skipped', reason: 'no_consent' });
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]?.to).toBe('+15555550123');
    expect(w.sent[0]?.text).toMatch(/^This is Riverside Health\. You have a visit tomorrow: https:\/\/portal\.example\.org/);
    expect(w.sent[0]?.text).not.toMatch(/Ada|Lovelace|2031|1990/);

    const progress = await w.campaigns.progress(w.campaign.id);
    expect(progress?.states).toMatchObject({ sent: 1, skipped: 2 });
    expect(progress?.reasons).toEqual({ consent_revoked: 1, no_consent: 1 });
    const [row] = await w.db.query<{ details: string }>("SELECT details::text FROM audit_log WHERE action = 'reminder.sent'");
    const details = JSON.parse(row?.details ?? '{}') as Record<string, unknown>;
    expect(details).toMatchObject({ campaignId: w.campaign.id, channel: 'sms', consentVersion: 1 });
    expect(details['templateHash']).toMatch(/^[0-9a-f]{64}$/);
    expect(details['bodyHash']).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.details).not.toMatch(/Riverside|portal\.example|5555550123/);
  });

  it('never sends twice: a finished delivery is left alone, and one left mid-send is reconciled, not resent', async () => {
    const w = await world();
    const id = w.deliveryOf(w.ids.yes);
    await processDelivery(id, w.ports);
    expect(await processDelivery(id, w.ports)).toEqual({ kind: 'done', state: 'sent' });
    // A worker died after claiming but before recording: the provider has the message.
    await w.db.query("UPDATE deliveries SET state = 'sending', provider_message_id = NULL WHERE id = $1", [id]);
    w.setReconcile('SMreconciled');
    expect(await processDelivery(id, w.ports)).toEqual({ kind: 'sent', providerMessageId: 'SMreconciled' });
    expect(w.sent).toHaveLength(1);
    // The provider cannot say: a person looks at it; nothing is resent.
    await w.db.query("UPDATE deliveries SET state = 'sending', provider_message_id = NULL WHERE id = $1", [id]);
    w.setReconcile(undefined);
    expect(await processDelivery(id, w.ports)).toEqual({ kind: 'failed', reason: 'ambiguous_outcome' });
    expect(w.sent).toHaveLength(1);
  });

  it('delays to the next morning in the patient’s zone outside quiet hours, and expires once the appointment has started', async () => {
    const w = await world();
    const id = w.deliveryOf(w.ids.yes);
    w.setClock(new Date('2031-03-04T03:30:00Z')); // 22:30 in New York
    expect(await processDelivery(id, w.ports)).toEqual({ kind: 'delayed', until: new Date('2031-03-04T13:00:00Z') }); // 08:00 EST
    w.setClock(new Date(NOON.getTime() + 27 * 3_600_000));
    expect(await processDelivery(id, w.ports)).toEqual({ kind: 'skipped', reason: 'appointment_started' });
    expect(w.sent).toHaveLength(0);
  });

  it('re-checks at send time: a cancelled appointment or campaign is skipped', async () => {
    const w = await world();
    await w.db.query("UPDATE appointments SET status = 'cancelled' WHERE patient_id = $1", [w.ids.yes]);
    expect(await processDelivery(w.deliveryOf(w.ids.yes), w.ports)).toEqual({ kind: 'skipped', reason: 'appointment_cancelled' });
    await w.db.query("UPDATE campaigns SET status = 'cancelled' WHERE id = $1", [w.campaign.id]);
    expect(await processDelivery(w.deliveryOf(w.ids.never), w.ports)).toEqual({ kind: 'skipped', reason: 'campaign_cancelled' });
    expect(w.sent).toHaveLength(0);
  });
});

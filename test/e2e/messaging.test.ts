/**
 * End-to-end-encrypted messaging through a real gateway (every feature the composition root
 * builds, on a real socket, PGlite + the test Redis) with real libsignal clients (the SDK):
 * a provider with two devices and a care-team patient exchange messages both ways with delivery
 * receipts; an offline device gets its backlog once, in order, and the envelopes go; neither the
 * database nor Redis (keys and pub/sub) ever holds a plaintext; a changed identity key is reported
 * (and blocks sending while the old one is marked verified);
 * a tampered or garbage envelope fails to decrypt without breaking the conversation.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { testConfig } from '../../gateway/testing/harness.ts';
import type { Db } from '../../core/db/types.ts';
import { openTestDb, type TestDb } from '../helpers/databases.ts';
import { downloadAttachment, Messenger, uploadAttachment } from '../../sdk/index.ts';
import { dumpRedis, dumpTables, eventually, leaks, newDevice, Recorder, recordPublished, seedPeople, startTestGateway, storeFactory, type People, type TestGateway } from '../helpers/messaging.ts';

interface World {
  db: Db;
  redis: Redis;
  gateway: TestGateway;
  people: People;
  stores: ReturnType<typeof storeFactory>;
}

/** Generous for a loaded CI machine; every wait inside has its own short, named timeout. */
const TEST_TIMEOUT_MS = 60_000;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(): Promise<World> {
  const t: TestDb = await openTestDb('pglite');
  cleanups.push(() => t.dispose());
  const redis = await connectRedis(inject('redisUrl'));
  cleanups.push(() => redis.quit());
  const gateway = await startTestGateway({ db: t.db, redis, config: testConfig(), keyPrefix: `test-${randomUUID()}:` });
  cleanups.push(() => gateway.close());
  const people = await seedPeople(gateway.features.identity, t.db);
  const stores = storeFactory();
  cleanups.push(() => stores.cleanup());
  return { db: t.db, redis, gateway, people, stores };
}

type Device = Awaited<ReturnType<typeof newDevice>>;
function started(d: Device): Promise<void> {
  cleanups.push(() => d.messenger.close());
  return d.messenger.start();
}

const pendingFor = async (db: Db, userId: string, deviceId: number): Promise<number> =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM envelopes WHERE recipient_user = $1 AND recipient_device = $2', [userId, deviceId]))[0]?.n ?? -1;

describe('e2e messaging through a real gateway (SDK clients)', () => {
  it('provider and patient exchange messages both ways with receipts; the provider’s second device sees the conversation; an offline device gets its backlog once, in order; nothing at rest or in Redis holds a plaintext', async () => {
    const { db, redis, gateway, people, stores } = await world();
    const { provider, patient } = people;
    const published = await recordPublished(redis);
    cleanups.push(() => published.stop());
    const tag = randomBytes(6).toString('hex');
    const text = (n: string) => `Zq-${tag}-${n} blood pressure 150/95 meds adjusted`;

    const pro1 = await newDevice(stores, gateway.url, provider.token, provider.id, 'provider-laptop');
    const pro2 = await newDevice(stores, gateway.url, provider.token, provider.id, 'provider-phone');
    const pat = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-phone');
    expect([pro1.deviceId, pro2.deviceId]).toEqual([1, 2]);
    await Promise.all([started(pro1), started(pro2), started(pat)]);

    // 1. Provider → patient: the first message is a PreKey message, later ones are not.
    const first = await pro1.messenger.sendText(patient.userId, text('p1'));
    await pat.recorder.until('the first message', () => pat.recorder.texts().includes(text('p1')));
    expect(pro1.sentTypes.find((s) => s.to === patient.userId)?.types).toEqual([3]);
    expect(pat.recorder.events.message[0]?.from).toEqual({ userId: provider.id, deviceId: pro1.deviceId });
    // Delivery receipt back to the sender (and to its other device).
    await pro1.recorder.until('the delivery receipt', () => pro1.recorder.events.receipt.some((r) => r.clientIds.includes(first.clientId)));
    expect(pro1.recorder.events.receipt[0]).toMatchObject({ receipt: 'delivered', from: { userId: patient.userId, deviceId: pat.deviceId } });

    // Patient → provider: reaches both provider devices; the patient's first send is a PreKey message too.
    const reply = await pat.messenger.sendText(provider.id, text('q1'));
    expect(reply.envelopeIds).toHaveLength(2);
    for (const d of [pro1, pro2]) await d.recorder.until('the reply on both provider devices', () => d.recorder.texts().includes(text('q1')));
    await pat.recorder.until('receipts from both provider devices', () => pat.recorder.events.receipt.filter((r) => r.clientIds.includes(reply.clientId)).length === 2);

    // Normal (whisper) messages both ways, in order.
    for (const n of ['p2', 'p3']) await pro1.messenger.sendText(patient.userId, text(n));
    for (const n of ['q2', 'q3']) await pat.messenger.sendText(provider.id, text(n));
    await pat.recorder.until('p2, p3', () => pat.recorder.texts().length === 3);
    for (const d of [pro1, pro2]) await d.recorder.until('q2, q3', () => d.recorder.texts().length === 3);
    expect(pat.recorder.texts()).toEqual([text('p1'), text('p2'), text('p3')]);
    expect(pro1.recorder.texts()).toEqual([text('q1'), text('q2'), text('q3')]);
    expect(pro2.recorder.texts()).toEqual([text('q1'), text('q2'), text('q3')]);
    const toPatient = pro1.sentTypes.filter((s) => s.to === patient.userId && s.types.length === 1).map((s) => s.types[0]);
    expect(toPatient[0]).toBe(3);
    expect(toPatient.slice(1).every((t) => t === 2), `later sends are whisper messages: ${toPatient.join(',')}`).toBe(true);
    expect(pat.sentTypes.filter((s) => s.to === provider.id).at(-1)?.types).toEqual([2, 2]);

    // 2. The provider's second device got copies of what the first one sent.
    await pro2.recorder.until('sent copies of p1..p3', () => pro2.recorder.events.sentCopy.length === 3);
    expect(pro2.recorder.events.sentCopy.map((c) => [c.to, c.message.text])).toEqual(['p1', 'p2', 'p3'].map((n) => [patient.userId, text(n)]));
    expect(pro2.recorder.events.sentCopy.every((c) => c.from.deviceId === pro1.deviceId)).toBe(true);
    for (const d of [pro1, pro2, pat]) expect(d.recorder.events.decryptError, d.recorder.name).toEqual([]);

    // 3. The provider's second device goes offline; the patient writes five more.
    await pro2.messenger.close();
    const backlog = ['b1', 'b2', 'b3', 'b4', 'b5'];
    for (const n of backlog) await pat.messenger.sendText(provider.id, text(n));
    await pro1.recorder.until('the backlog live on the online device', () => pro1.recorder.texts().length === 8);
    await eventually('five envelopes stored for the offline device', async () => (await pendingFor(db, provider.id, pro2.deviceId)) === 5);

    // 4. With ciphertext at rest (the offline device's backlog) — no plaintext in the database or Redis.
    const dbDump = await dumpTables(db);
    const pendingIds = (await db.query<{ id: string; content: Buffer }>('SELECT id, content FROM envelopes WHERE recipient_user = $1 AND recipient_device = $2', [provider.id, pro2.deviceId]));
    for (const e of pendingIds) {
      expect(dbDump, 'the dump holds the stored envelopes (a dump of nothing proves nothing)').toContain(e.id);
      expect(dbDump).toContain(e.content.toString('hex'));
    }
    const redisDump = await dumpRedis(redis);
    expect(redisDump.length).toBeGreaterThan(0);
    expect(published.text(), 'delivery notices were published').toContain(provider.id);
    const all = ['p1', 'p2', 'p3', 'q1', 'q2', 'q3', ...backlog].map(text);
    for (const [where, dump] of [['database', dbDump], ['redis', redisDump], ['redis pub/sub', published.text()]] as const) {
      for (const p of all) expect(leaks(dump, p), `${p} in the ${where}`).toEqual([]);
      expect(dump.includes(tag), `the tag ${tag} in the ${where}`).toBe(false);
    }

    // Reconnect: the backlog arrives in order, exactly once, then the envelopes are gone.
    const again = new Messenger({ store: pro2.store, transport: pro2.transport });
    const rec2 = new Recorder('provider-phone (reconnected)', again);
    cleanups.push(() => again.close());
    const before = pro2.rawDeliveries.length;
    await again.start();
    await rec2.until('the drained backlog', () => rec2.events.drained.length === 1);
    expect(rec2.texts()).toEqual(backlog.map(text));
    const delivered = pro2.rawDeliveries.slice(before);
    expect(new Set(delivered).size, 'no envelope delivered twice').toBe(delivered.length);
    expect(delivered).toHaveLength(5);
    await eventually('the acked backlog deleted', async () => (await pendingFor(db, provider.id, pro2.deviceId)) === 0);
    await again.close();
    const third = new Messenger({ store: pro2.store, transport: pro2.transport });
    const rec3 = new Recorder('provider-phone (third connect)', third);
    cleanups.push(() => third.close());
    await third.start();
    await rec3.until('an empty drain', () => rec3.events.drained.length === 1);
    expect(rec3.events.message).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('a changed identity key is reported to the sender; tampered and garbage envelopes fail to decrypt and the conversation goes on', async () => {
    const { db, gateway, people, stores } = await world();
    const { provider, patient } = people;
    const pro = await newDevice(stores, gateway.url, provider.token, provider.id, 'provider-laptop');
    const pat = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-phone');
    await Promise.all([started(pro), started(pat)]);
    await pro.messenger.sendText(patient.userId, 'hello one');
    await pat.recorder.until('hello one', () => pat.recorder.texts().includes('hello one'));
    await pat.messenger.sendText(provider.id, 'hello two');
    await pro.recorder.until('hello two', () => pro.recorder.texts().includes('hello two'));
    const before = pro.messenger.safetyNumbers(patient.userId);
    expect(before).toHaveLength(1);

    // The patient's phone is replaced: remove the device, register a new one (new identity key).
    await pat.messenger.close();
    const removed = await fetch(`${gateway.url}/v1/devices/${pat.deviceId}`, { method: 'DELETE', headers: { authorization: `Bearer ${patient.token}` } });
    expect(removed.status).toBe(204);
    const pat2 = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-new-phone');
    await started(pat2);
    await pro.messenger.sendText(patient.userId, 'are you there');
    await pat2.recorder.until('the message on the new phone', () => pat2.recorder.texts().includes('are you there'));
    expect(pro.recorder.events.identityChanged).toEqual([{ userId: patient.userId, deviceId: pat2.deviceId, wasVerified: false }]);
    expect(pat2.deviceId).toBe(pat.deviceId); // the lowest free id: the same address, a new key
    const after = pro.messenger.safetyNumbers(patient.userId);
    expect(after[0]?.digits).not.toBe(before[0]?.digits);
    expect(pat2.messenger.safetyNumbers(provider.id)[0]?.digits).toBe(after[0]?.digits);

    // Once the patient has answered, the provider's messages are whisper messages: the whole
    // ciphertext is MAC'd. (A repeated PreKey message's Kyber ciphertext is not used once the
    // session exists, so flipping a byte there would go unnoticed — by design of libsignal.)
    await pat2.messenger.sendText(provider.id, 'new phone, same me');
    await pro.recorder.until('the reply from the new phone', () => pro.recorder.texts().includes('new phone, same me'));

    // Tampered in storage: the patient is offline, one byte of the stored ciphertext is flipped.
    await pat2.messenger.close();
    const tampered = await pro.messenger.sendText(patient.userId, 'tamper target');
    const id = tampered.envelopeIds[0] ?? '';
    const rows = await db.query<{ content: Buffer; type: number }>('SELECT content, type FROM envelopes WHERE id = $1', [id]);
    const content = rows[0]?.content;
    if (content === undefined) throw new Error('the envelope to tamper with is not stored');
    expect(rows[0]?.type).toBe(2);
    const altered = Buffer.from(content);
    altered[Math.floor(altered.length / 2)] = (altered[Math.floor(altered.length / 2)] ?? 0) ^ 0x01;
    await db.query('UPDATE envelopes SET content = $2 WHERE id = $1', [id, altered]);
    // Garbage from a raw HTTP call, addressed correctly.
    const regId = (await db.query<{ registration_id: number }>('SELECT registration_id FROM devices WHERE user_id = $1 AND device_id = $2', [patient.userId, pat2.deviceId]))[0]?.registration_id;
    const garbage = await fetch(`${gateway.url}/v1/messages/${patient.userId}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${provider.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ senderDevice: pro.deviceId, messages: [{ deviceId: pat2.deviceId, registrationId: regId, type: 2, content: randomBytes(120).toString('base64') }] }),
    });
    expect(garbage.status).toBe(200);
    const garbageId = ((await garbage.json()) as { envelopes: { id: string }[] }).envelopes[0]?.id;
    await pro.messenger.sendText(patient.userId, 'after the tampering');

    const back = new Messenger({ store: pat2.store, transport: pat2.transport });
    const rec = new Recorder('patient-new-phone (back)', back);
    cleanups.push(() => back.close());
    await back.start();
    await rec.until('the message after the tampering', () => rec.texts().includes('after the tampering'));
    expect(rec.texts()).toEqual(['after the tampering']);
    expect(rec.events.decryptError.map((e) => e.envelopeId).sort()).toEqual([id, garbageId].sort());
    expect(rec.events.decryptError.every((e) => e.from.userId === provider.id)).toBe(true);
    // The conversation keeps working both ways.
    await back.sendText(provider.id, 'still here');
    await pro.recorder.until('still here', () => pro.recorder.texts().includes('still here'));
    await pro.messenger.sendText(patient.userId, 'good');
    await rec.until('good', () => rec.texts().includes('good'));
    await eventually('every envelope for the patient acked, the undecryptable ones too', async () => (await pendingFor(db, patient.userId, pat2.deviceId)) === 0);
  }, TEST_TIMEOUT_MS);

  it('after the provider verified the patient’s device, a changed key blocks sending until the provider accepts the change', async () => {
    const { gateway, people, stores } = await world();
    const { provider, patient } = people;
    const pro = await newDevice(stores, gateway.url, provider.token, provider.id, 'provider-laptop');
    const pat = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-phone');
    await Promise.all([started(pro), started(pat)]);
    await pro.messenger.sendText(patient.userId, 'before');
    await pat.recorder.until('before', () => pat.recorder.texts().includes('before'));
    expect(pro.messenger.safetyNumbers(patient.userId)[0]?.digits).toBe(pat.messenger.safetyNumbers(provider.id)[0]?.digits);
    await pro.messenger.markVerified(patient.userId, pat.deviceId);

    await pat.messenger.close();
    expect((await fetch(`${gateway.url}/v1/devices/${pat.deviceId}`, { method: 'DELETE', headers: { authorization: `Bearer ${patient.token}` } })).status).toBe(204);
    const pat2 = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-new-phone');
    await started(pat2);
    await expect(pro.messenger.sendText(patient.userId, 'blocked')).rejects.toMatchObject({ code: 'untrusted_identity' });
    // The refused send is when the provider learns the verified key changed: one notice, now.
    const notice = [{ userId: patient.userId, deviceId: pat2.deviceId, wasVerified: true }];
    expect(pro.recorder.events.identityChanged).toEqual(notice);

    // The provider accepts the change (marks the device unverified) and sends; no second notice.
    await pro.messenger.markVerified(patient.userId, pat.deviceId, false);
    await pro.messenger.sendText(patient.userId, 'after accepting');
    await pat2.recorder.until('after accepting', () => pat2.recorder.texts().includes('after accepting'));
    expect(pat2.recorder.texts()).toEqual(['after accepting']);
    expect(pro.recorder.events.identityChanged).toEqual(notice);
    expect(pro.messenger.safetyNumbers(patient.userId)[0]).toMatchObject({ digits: pat2.messenger.safetyNumbers(provider.id)[0]?.digits, verified: false });
  }, TEST_TIMEOUT_MS);
  it('an attachment travels encrypted: the gateway stores only ciphertext, the recipient gets the bytes back, a tampered blob is refused', async () => {
    const { db, gateway, people, stores } = await world();
    const { provider, patient } = people;
    const pro = await newDevice(stores, gateway.url, provider.token, provider.id, 'provider-laptop');
    const pat = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-phone');
    await Promise.all([started(pro), started(pat)]);

    const secret = Buffer.from(`Zq-${randomBytes(6).toString('hex')} lab report: HbA1c 9.1%`.repeat(40), 'utf8');
    const pointer = await uploadAttachment({ baseUrl: gateway.url, token: provider.token }, secret, { contentType: 'text/plain' });
    await pro.messenger.sendText(patient.userId, 'your lab report', [pointer]);
    await pat.recorder.until('the message with the attachment', () => pat.recorder.events.message.some((m) => m.message.attachments.length === 1));
    const received = pat.recorder.events.message.find((m) => m.message.attachments.length === 1)?.message.attachments[0];
    expect(received?.id).toBe(pointer.id);
    if (received === undefined) throw new Error('no attachment pointer arrived');

    const got = await downloadAttachment({ baseUrl: gateway.url, token: patient.token }, received);
    expect(got.equals(secret)).toBe(true);
    // At rest: ciphertext only (neither the plaintext nor its key).
    const [row] = await db.query<{ bytes: Buffer }>('SELECT bytes FROM attachments WHERE id = $1', [pointer.id]);
    expect(row?.bytes.length).toBe(secret.length + 28);
    expect(row?.bytes.includes(secret.subarray(0, 32))).toBe(false);
    expect(row?.bytes.includes(Buffer.from(pointer.key, 'base64'))).toBe(false);

    // One flipped bit on the server is caught before decryption.
    await db.query('UPDATE attachments SET bytes = set_byte(bytes, 20, get_byte(bytes, 20) # 1) WHERE id = $1', [pointer.id]);
    await expect(downloadAttachment({ baseUrl: gateway.url, token: patient.token }, received)).rejects.toMatchObject({ code: 'attachment_tampered' });
  }, TEST_TIMEOUT_MS);
  it('removing a device closes its live socket at once, and senders then address nothing to it', async () => {
    const { db, gateway, people, stores } = await world();
    const { provider, patient } = people;
    const pro = await newDevice(stores, gateway.url, provider.token, provider.id, 'provider-laptop');
    const pat = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-phone');
    await Promise.all([started(pro), started(pat)]);
    await pro.messenger.sendText(patient.userId, 'before removal');
    await pat.recorder.until('the first message', () => pat.recorder.texts().includes('before removal'));

    const res = await fetch(`${gateway.url}/v1/devices/${pat.deviceId}`, { method: 'DELETE', headers: { authorization: `Bearer ${patient.token}` } });
    expect(res.status).toBe(204);
    await pat.recorder.until('the device-removed notice', () => pat.recorder.events.deviceRemoved.length === 1);
    expect(await pendingFor(db, patient.userId, pat.deviceId)).toBe(0);
    // The sender learns on its next send that the device is gone (409 → its session is dropped): nothing is stored for it.
    const after = await pro.messenger.sendText(patient.userId, 'after removal');
    expect(after.envelopeIds).toEqual([]);
    expect(await pendingFor(db, patient.userId, pat.deviceId)).toBe(0);
  }, TEST_TIMEOUT_MS);
});

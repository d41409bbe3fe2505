/**
 * Malformed libsignal material against a real gateway: device registrations and key uploads whose
 * key fields hold random bytes (well-formed base64, so they reach the libsignal parsing and
 * signature checks) must be refused with a 4xx, never a 5xx, and store nothing; envelopes of
 * random ciphertext are relayed (the server cannot tell), and the recipient's SDK messenger
 * reports each as a decryptError, acks it, and keeps the conversation working.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDevice } from '../../gateway/keys/test-keys.ts';
import { eventually, newDevice, storeFactory } from '../helpers/messaging.ts';
import { FUZZ_SEED } from './arbitraries.ts';
import { answerProblem, startFuzzWorld, timedFetch, type FuzzWorld } from './fuzz-world.ts';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 60);
const DEADLINE_MS = 5_000;

let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world.close();
});

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
/** Random bytes of the lengths that matter: empty-ish, a key's length ±1, a Kyber key's, a signature's. */
const keyBytes = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.constantFrom(32, 33, 34, 64, 1568, 1569, 1570).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.constantFrom(0x05, 0x08, 0x00).chain((t) => fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Uint8Array.from([t, ...b])))).map(b64);

type Registration = ReturnType<ReturnType<typeof testDevice>['registration']>;
/** Which key field of a valid registration gets random bytes. */
const CORRUPTIONS: Record<string, (r: Registration, v: string) => Registration> = {
  identityKey: (r, v) => ({ ...r, identityKey: v }),
  'signedPreKey.publicKey': (r, v) => ({ ...r, signedPreKey: { ...r.signedPreKey, publicKey: v } }),
  'signedPreKey.signature': (r, v) => ({ ...r, signedPreKey: { ...r.signedPreKey, signature: v } }),
  'lastResortKyberPreKey.publicKey': (r, v) => ({ ...r, lastResortKyberPreKey: { ...r.lastResortKyberPreKey, publicKey: v } }),
  'lastResortKyberPreKey.signature': (r, v) => ({ ...r, lastResortKyberPreKey: { ...r.lastResortKyberPreKey, signature: v } }),
  'preKeys[0].publicKey': (r, v) => ({ ...r, preKeys: [{ keyId: 1, publicKey: v }] }),
};

async function call(method: string, path: string, token: string | undefined, body: unknown) {
  return timedFetch(`${world.url}${path}`, { method, headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) }, DEADLINE_MS);
}

describe('malformed libsignal payloads', () => {
  it('refuses registrations and key uploads with random bytes in a key field with a 4xx, and stores nothing', async () => {
    const token = await world.token('provider');
    const owner = testDevice();
    const registered = await call('POST', '/v1/devices', token, owner.registration());
    expect(registered.status, registered.text).toBe(201);
    const { deviceId } = JSON.parse(registered.text) as { deviceId: number };
    const devices = async () => (await world.db.query<{ n: number }>('SELECT count(*)::int AS n FROM devices'))[0]?.n ?? -1;
    const before = await devices();
    const codes = new Map<string, number>();
    let accepted = 0;

    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(CORRUPTIONS)), keyBytes, fc.boolean(), async (field, value, upload) => {
        const corrupt = CORRUPTIONS[field];
        if (corrupt === undefined) throw new Error(`no corruption ${field}`);
        // An upload keeps the registered identity key unless that is the field being fuzzed.
        const base = upload ? { ...testDevice().registration(), identityKey: owner.identityKey } : testDevice().registration();
        const body = corrupt(base, value);
        const a = upload
          ? await call('PUT', `/v1/devices/${deviceId}/keys`, token, { identityKey: body.identityKey, signedPreKey: body.signedPreKey, lastResortKyberPreKey: body.lastResortKyberPreKey, preKeys: body.preKeys })
          : await call('POST', '/v1/devices', token, body);
        const problem = answerProblem(a);
        if (problem !== undefined) throw new Error(`${upload ? 'upload' : 'register'} ${field}: ${problem}`);
        const code = a.status < 400 ? String(a.status) : (JSON.parse(a.text) as { error: { code: string } }).error.code;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        // Any 32 bytes after the 0x05 type byte are a Curve25519 point, and one-time prekeys carry no
        // signature: that one case is a valid key. Everything else random is refused.
        const bytes = Buffer.from(value, 'base64');
        if (field === 'preKeys[0].publicKey' && bytes.length === 33 && bytes[0] === 0x05) {
          if (a.status === 201) accepted++;
          return;
        }
        expect(a.status, `${upload ? 'upload' : 'register'} ${field}: ${a.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS, seed: FUZZ_SEED, interruptAfterTimeLimit: 30_000 },
    );
    console.info(`libsignal key fuzz: ${RUNS} runs, answers ${JSON.stringify(Object.fromEntries(codes))}, seed ${FUZZ_SEED}`);
    expect(await devices()).toBe(before + accepted);
    expect([...codes.keys()].some((c) => c === 'invalid_key' || c === 'invalid_signature')).toBe(true);
  }, 60_000);

  it('relays random ciphertext; the recipient SDK reports each envelope as a decryptError, acks it, and still talks', async () => {
    const stores = storeFactory();
    const providerToken = await world.token('provider');
    const patientToken = await world.token('patient');
    if (providerToken === undefined || patientToken === undefined) throw new Error('no sessions');
    const pro = await newDevice(stores, world.url, providerToken, world.staff.provider, 'fuzz-provider');
    const pat = await newDevice(stores, world.url, patientToken, world.patient.userId, 'fuzz-patient');
    try {
      await Promise.all([pro.messenger.start(), pat.messenger.start()]);
      const regId = (await world.db.query<{ registration_id: number }>('SELECT registration_id FROM devices WHERE user_id = $1 AND device_id = $2', [world.patient.userId, pat.deviceId]))[0]?.registration_id;
      const garbageIds: string[] = [];
      const statuses = new Map<number, number>();
      const ciphertext = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 2_000 }), fc.constantFrom(0x33, 0x34, 0x22, 0x44).chain((v) => fc.uint8Array({ minLength: 0, maxLength: 300 }).map((b) => Uint8Array.from([v, ...b]))));
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(2, 3), ciphertext, async (type, bytes) => {
          const a = await call('PUT', `/v1/messages/${world.patient.userId}`, providerToken, { senderDevice: pro.deviceId, messages: [{ deviceId: pat.deviceId, registrationId: regId, type, content: b64(bytes) }] });
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          const problem = answerProblem(a);
          if (problem !== undefined) throw new Error(`type ${type}: ${problem}`);
          if (a.status === 200) garbageIds.push(...(JSON.parse(a.text) as { envelopes: { id: string }[] }).envelopes.map((e) => e.id));
        }),
        { numRuns: Math.ceil(RUNS / 2), seed: FUZZ_SEED, interruptAfterTimeLimit: 20_000 },
      );
      expect(garbageIds.length).toBeGreaterThan(0);
      await pat.recorder.until(`${garbageIds.length} decryptErrors`, () => garbageIds.every((id) => pat.recorder.events.decryptError.some((e) => e.envelopeId === id)), 20_000);
      expect(pat.recorder.events.message).toEqual([]);
      expect(pat.recorder.events.error.map((e) => e.error.message)).toEqual([]);
      await eventually('every garbage envelope acked', async () => (await world.db.query<{ n: number }>('SELECT count(*)::int AS n FROM envelopes WHERE recipient_user = $1', [world.patient.userId]))[0]?.n === 0);
      // The conversation still works both ways.
      const text = `after the garbage ${randomBytes(4).toString('hex')}`;
      await pro.messenger.sendText(world.patient.userId, text);
      await pat.recorder.until('the real message', () => pat.recorder.texts().includes(text));
      await pat.messenger.sendText(world.staff.provider, 'still here');
      await pro.recorder.until('the reply', () => pro.recorder.texts().includes('still here'));
      console.info(`libsignal envelope fuzz: ${garbageIds.length} garbage envelopes, statuses ${JSON.stringify(Object.fromEntries(statuses))}, seed ${FUZZ_SEED}`);
    } finally {
      await pro.messenger.close();
      await pat.messenger.close();
      await stores.cleanup();
    }
  }, 90_000);
});

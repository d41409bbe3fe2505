/**
 * Fuzzes the two Twilio webhooks (inbound SMS, delivery status) of a real gateway with arbitrary
 * form bodies: signed correctly with the twilio library's own helper (the gateway must never
 * answer 5xx, whatever the signed parameters say), unsigned or wrongly signed (always a 403, and
 * audited as `webhook.refused`), and raw bodies of any content type (never accepted unsigned).
 */
import fc from 'fast-check';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TWILIO_STATUS_PATH } from '../../gateway/campaigns/status-webhook.ts';
import { TWILIO_SMS_PATH } from '../../gateway/consent/twilio-webhook.ts';
import { anyString, FUZZ_SEED } from './arbitraries.ts';
import { answerProblem, PUBLIC_ORIGIN, startFuzzWorld, timedFetch, TWILIO_AUTH_TOKEN, type FuzzWorld } from './fuzz-world.ts';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 120);
const DEADLINE_MS = 5_000;
const PATHS = [TWILIO_SMS_PATH, TWILIO_STATUS_PATH] as const;

let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world.close();
});

const hex32 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
/** Twilio-looking fields (so some bodies get past validation) and arbitrary ones, repeated names included. */
const field = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.constant('MessageSid'), fc.oneof(hex32.map((h) => `SM${h}`), anyString)) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('MessageStatus'), fc.oneof(fc.constantFrom('delivered', 'undelivered', 'failed', 'read', 'sent', 'canceled'), anyString)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('ErrorCode'), fc.oneof(fc.constantFrom('30003', '0', '9999999', '-1'), anyString)) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('From'), fc.oneof(fc.constantFrom('+15555550123', '+1 (555) 555-0123', '+', '0', '+999999999999999999999'), anyString)) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('Body'), fc.oneof(fc.constantFrom('STOP', 'START', 'HELP', 'stop please', 'UNSUBSCRIBE', ''), anyString)) },
  { weight: 2, arbitrary: fc.tuple(anyString.map((s) => s.slice(0, 100)), anyString) },
);
/** A well-formed callback of either kind, so most signed bodies reach the handlers; fuzzed fields are added to it. */
const wellFormed = fc.oneof(
  fc.tuple(hex32, fc.constantFrom('+15555550123', '+15555559999'), fc.constantFrom('STOP', 'START', 'HELP', 'hello')).map(([h, from, body]) => [['MessageSid', `SM${h}`], ['From', from], ['Body', body]] as [string, string][]),
  fc.tuple(hex32, fc.constantFrom('delivered', 'undelivered', 'failed', 'sent')).map(([h, status]) => [['MessageSid', `SM${h}`], ['MessageStatus', status]] as [string, string][]),
);
const form = fc.tuple(fc.oneof({ weight: 1, arbitrary: fc.constant([] as [string, string][]) }, { weight: 3, arbitrary: wellFormed }), fc.array(field, { maxLength: 4 })).map(([base, entries]) => [...base, ...entries.map(([k, v]) => [k, v.slice(0, 5_000)] as [string, string])]);
/** The status callback refuses a body past 16 KiB (413) before it looks at the signature. */
const STATUS_MAX_BODY = 16 * 1024;

/** What Twilio signs: every parameter, a repeated name as the list of its values. */
function signedParams(entries: readonly [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of entries) {
    const seen = out[k];
    out[k] = seen === undefined ? v : Array.isArray(seen) ? [...seen, v] : [seen, v];
  }
  return out;
}

const refusals = async (): Promise<number> => (await world.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'webhook.refused'"))[0]?.n ?? -1;

async function post(path: string, body: string | Buffer, headers: Record<string, string>) {
  return timedFetch(`${world.url}${path}`, { method: 'POST', headers, body }, DEADLINE_MS);
}

describe('Twilio webhook fuzzing', () => {
  it('never answers 5xx to a correctly signed form, whatever its parameters', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS), form, async (path, entries) => {
        // URLSearchParams turns lone surrogates into U+FFFD: sign what is actually sent.
        const body = new URLSearchParams(entries).toString();
        const sent = [...new URLSearchParams(body)];
        const signature = twilio.getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, `${PUBLIC_ORIGIN}${path}`, signedParams(sent));
        const a = await post(path, body, { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature });
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        const problem = answerProblem(a);
        if (problem !== undefined) throw new Error(`${path}: ${problem}`);
        // Correctly signed: never refused as unsigned.
        expect(a.status, `${path}: ${a.text.slice(0, 200)}`).not.toBe(403);
      }),
      { numRuns: RUNS, seed: FUZZ_SEED, interruptAfterTimeLimit: 30_000 },
    );
    console.info(`webhook fuzz (signed): ${RUNS} runs, statuses ${JSON.stringify(Object.fromEntries(statuses))}, seed ${FUZZ_SEED}`);
    // The fuzzer reached past validation too, not only 400s.
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
  }, 60_000);

  it('refuses (403, audited) every form without a valid signature, and never accepts a raw body unsigned', async () => {
    const signature = fc.oneof(
      fc.constant(undefined),
      fc.constant(''),
      anyString.map((s) => s.slice(0, 200)),
      fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('base64')),
    );
    const wrongKey = fc.constantFrom('wrong-auth-token-0123456789abcdef');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS), form, fc.oneof(signature, wrongKey), async (path, entries, sig) => {
        const body = new URLSearchParams(entries).toString();
        // A signature under another account's token, or over another URL, is as good as none.
        const header = sig === 'wrong-auth-token-0123456789abcdef' ? twilio.getExpectedTwilioSignature(sig, `${PUBLIC_ORIGIN}${path}`, signedParams([...new URLSearchParams(body)])) : sig;
        // Header values must be ByteStrings; fetch refuses the rest before sending.
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
        if (header !== undefined && /^[\x20-\x7e]*$/.test(header)) headers['x-twilio-signature'] = header;
        const before = await refusals();
        const a = await post(path, body, headers);
        const problem = answerProblem(a);
        if (problem !== undefined) throw new Error(`${path}: ${problem}`);
        const tooLarge = path === TWILIO_STATUS_PATH && body.length > STATUS_MAX_BODY;
        expect(a.status, `${path}: ${a.text.slice(0, 200)}`).toBe(tooLarge ? 413 : 403);
        expect(await refusals()).toBe(tooLarge ? before : before + 1);
      }),
      { numRuns: RUNS, seed: FUZZ_SEED, interruptAfterTimeLimit: 30_000 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS), fc.uint8Array({ maxLength: 2_000 }), fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded'), async (path, bytes, type) => {
        const a = await post(path, Buffer.from(bytes), { 'content-type': type });
        const problem = answerProblem(a);
        if (problem !== undefined) throw new Error(`${path}, ${type}: ${problem}`);
        expect(a.status, `${path}, ${type}: ${a.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS, seed: FUZZ_SEED, interruptAfterTimeLimit: 30_000 },
    );
  }, 90_000);
});

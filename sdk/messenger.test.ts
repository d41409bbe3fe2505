/**
 * The Messenger's lifecycle and identity warnings against a real gateway (PGlite + the test
 * Redis, real sockets, real libsignal): close() stops a stream that is still connecting — also
 * one that keeps failing to connect — and a changed key found while sending is reported once.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { connectRedis } from '../core/redis/connect.ts';
import { testConfig } from '../gateway/testing/harness.ts';
import { openTestDb } from '../test/helpers/databases.ts';
import { eventually, newDevice, Recorder, seedPeople, startTestGateway, storeFactory, type People, type TestGateway } from '../test/helpers/messaging.ts';
import { SdkError } from './errors.ts';
import { createGatewayTransport } from './index.ts';
import { Messenger } from './messenger.ts';
import type { MessagingTransport } from './transport.ts';

const TEST_TIMEOUT_MS = 60_000;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(): Promise<{ gateway: TestGateway; people: People; stores: ReturnType<typeof storeFactory> }> {
  const t = await openTestDb('pglite');
  cleanups.push(() => t.dispose());
  const redis = await connectRedis(inject('redisUrl'));
  cleanups.push(() => redis.quit());
  const gateway = await startTestGateway({ db: t.db, redis, config: testConfig(), keyPrefix: `test-${randomUUID()}:` });
  cleanups.push(() => gateway.close());
  const people = await seedPeople(gateway.features.identity, t.db);
  const stores = storeFactory();
  cleanups.push(() => stores.cleanup());
  return { gateway, people, stores };
}

/** The gateway's live sockets of the session behind `token`. */
async function socketsOf(gateway: TestGateway, token: string): Promise<number> {
  const session = await gateway.features.identity.sessions.authenticate(token, { touch: false });
  if (session === undefined) throw new Error('the test session is gone');
  return gateway.features.hub.socketsFor(session.id).length;
}

/** How a promise settled, or a loud failure when it has not within `ms` (a hang must fail the test, not time it out). */
async function settled<T>(what: string, p: Promise<T>, ms = 5_000): Promise<{ value: T } | { error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    p.then((value) => ({ value }), (error: unknown) => ({ error })),
    new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms))),
  ]);
  clearTimeout(timer);
  if (outcome === 'pending') throw new Error(`${what} was still pending after ${ms} ms`);
  return outcome;
}

/**
 * A TCP hop in front of the gateway that refuses every connection (a gateway being restarted)
 * until `forward()`; counts connection attempts, so a reconnect loop is visible.
 */
async function flakyHop(target: string) {
  const to = new URL(target);
  let forwarding = false;
  let attempts = 0;
  const open = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  };
  const server = net.createServer((client) => {
    attempts++;
    track(client);
    if (!forwarding) return void client.destroy();
    const upstream = net.connect(Number(to.port), to.hostname);
    track(upstream);
    // A reset on one side ends the other: the hop is a wire, not a party.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the hop has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    attempts: () => attempts,
    forward() {
      forwarding = true;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const s of open) s.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

describe('Messenger lifecycle through a real gateway', () => {
  it('close() while start() is still connecting: start rejects with a typed SdkError, no socket stays open, and the next messenger gets what arrived meanwhile', async () => {
    const { gateway, people, stores } = await world();
    const { provider, patient } = people;
    const pro = await newDevice(stores, gateway.url, provider.token, provider.id, 'provider-laptop');
    const pat = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-phone');
    cleanups.push(() => pro.messenger.close());
    await pro.messenger.start();

    const starting = pat.messenger.start();
    await pat.messenger.close();
    const outcome = await settled('start() of the closed messenger', starting);
    expect('error' in outcome && outcome.error).toBeInstanceOf(SdkError);
    expect(outcome).toMatchObject({ error: { code: 'store_closed' } });
    await eventually('no socket of the patient left on the gateway', async () => (await socketsOf(gateway, patient.token)) === 0);

    // Idempotent, and a closed messenger cannot be started again.
    await pat.messenger.close();
    await expect(pat.messenger.start()).rejects.toSatisfy((e) => e instanceof SdkError && e.code === 'store_closed');

    // Nothing consumed the patient's envelopes behind the app's back: a new messenger on the store gets them.
    await pro.messenger.sendText(patient.userId, 'while you were away');
    const again = new Messenger({ store: pat.store, transport: pat.transport });
    const rec = new Recorder('patient-phone (restarted)', again);
    cleanups.push(() => again.close());
    await again.start();
    await rec.until('the backlog', () => rec.events.drained.length === 1);
    expect(rec.texts()).toEqual(['while you were away']);
    expect(pat.recorder.events.message).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('a transport that cannot be interrupted: the stream it opens after close() ran is closed at once, and start rejects', async () => {
    const { gateway, people, stores } = await world();
    const { patient } = people;
    const pat = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-phone');
    const real = createGatewayTransport({ baseUrl: gateway.url, token: patient.token });
    let subscribed = false;
    const transport: MessagingTransport = {
      ...real,
      // Drops everything but the handlers transport.ts declares (the abort signal among them).
      subscribe: async (deviceId, handlers) => {
        const stream = await real.subscribe(deviceId, { onEnvelope: (env) => handlers.onEnvelope(env), onConnection: (state) => handlers.onConnection?.(state) });
        subscribed = true;
        return stream;
      },
    };
    const m = new Messenger({ store: pat.store, transport });
    const starting = m.start();
    await m.close();
    expect(subscribed, 'close() waited for the connect in progress').toBe(true);
    const outcome = await settled('start() of the closed messenger', starting);
    expect('error' in outcome && outcome.error).toBeInstanceOf(SdkError);
    expect(outcome).toMatchObject({ error: { code: 'store_closed' } });
    await eventually('no socket of the patient left on the gateway', async () => (await socketsOf(gateway, patient.token)) === 0);
  }, TEST_TIMEOUT_MS);

  it('close() while the first connection keeps failing stops the reconnect loop: start rejects, and the gateway coming back sees no socket', async () => {
    const { gateway, people, stores } = await world();
    const { patient } = people;
    const pat = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-phone');
    const hop = await flakyHop(gateway.url);
    cleanups.push(() => hop.close());
    const m = new Messenger({ store: pat.store, transport: createGatewayTransport({ baseUrl: hop.url, token: patient.token }) });
    const rec = new Recorder('patient-phone (through the hop)', m);

    const starting = m.start();
    await eventually('the stream retrying', () => Promise.resolve(hop.attempts() >= 2));
    await m.close();
    const atClose = hop.attempts();
    const outcome = await settled('start() of the closed messenger', starting);
    expect('error' in outcome && outcome.error).toBeInstanceOf(SdkError);
    expect(outcome).toMatchObject({ error: { code: 'store_closed' } });

    // The gateway is back; a stream still retrying would be through within its next backoff step
    // (at most 1 s after two failures).
    hop.forward();
    await new Promise<void>((resolve) => setTimeout(resolve, 2_000));
    expect(hop.attempts(), 'connection attempts after close()').toBe(atClose);
    expect(await socketsOf(gateway, patient.token)).toBe(0);
    expect(rec.events.connection.filter((c) => c.state !== 'disconnected')).toEqual([]);
  }, TEST_TIMEOUT_MS);
});

describe('identity changes found while sending', () => {
  it('a verified device’s new key in a fresh bundle: the send is refused and identityChanged is emitted once; accepting the key sends without a second notice', async () => {
    const { gateway, people, stores } = await world();
    const { provider, patient } = people;
    const pro = await newDevice(stores, gateway.url, provider.token, provider.id, 'provider-laptop');
    const pat = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-phone');
    cleanups.push(() => pro.messenger.close(), () => pat.messenger.close());
    await Promise.all([pro.messenger.start(), pat.messenger.start()]);
    await pro.messenger.sendText(patient.userId, 'before');
    await pat.recorder.until('before', () => pat.recorder.texts().includes('before'));
    await pro.messenger.markVerified(patient.userId, pat.deviceId);
    const verifiedNumber = pro.messenger.safetyNumbers(patient.userId)[0]?.digits;

    // The patient's phone is replaced: same device id, a new identity key.
    await pat.messenger.close();
    expect((await fetch(`${gateway.url}/v1/devices/${pat.deviceId}`, { method: 'DELETE', headers: { authorization: `Bearer ${patient.token}` } })).status).toBe(204);
    const pat2 = await newDevice(stores, gateway.url, patient.token, patient.userId, 'patient-new-phone');
    cleanups.push(() => pat2.messenger.close());
    await pat2.messenger.start();
    expect(pat2.deviceId).toBe(pat.deviceId);

    const notice = { userId: patient.userId, deviceId: pat2.deviceId, wasVerified: true };
    await expect(pro.messenger.sendText(patient.userId, 'blocked')).rejects.toMatchObject({ code: 'untrusted_identity' });
    expect(pro.recorder.events.identityChanged).toEqual([notice]);
    // Refused again (another fresh bundle, the same new key): still refused, not announced again.
    await expect(pro.messenger.sendText(patient.userId, 'blocked again')).rejects.toMatchObject({ code: 'untrusted_identity' });
    expect(pro.recorder.events.identityChanged).toEqual([notice]);
    // The refusal kept the verified key as it was.
    expect(pro.messenger.safetyNumbers(patient.userId)).toMatchObject([{ deviceId: pat.deviceId, digits: verifiedNumber, verified: true }]);

    await pro.messenger.markVerified(patient.userId, pat.deviceId, false);
    await pro.messenger.sendText(patient.userId, 'after accepting');
    await pat2.recorder.until('after accepting', () => pat2.recorder.texts().includes('after accepting'));
    expect(pat2.recorder.texts()).toEqual(['after accepting']);
    expect(pro.recorder.events.identityChanged).toEqual([notice]);
    expect(pro.messenger.safetyNumbers(patient.userId)[0]).toMatchObject({ digits: pat2.messenger.safetyNumbers(provider.id)[0]?.digits, verified: false });
  }, TEST_TIMEOUT_MS);
});

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../core/log/logger.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import { testDbPerTest } from '../../test/helpers/databases.ts';
import { identityHarness } from '../testing/identity-harness.ts';
import { createWsHub } from '../ws/ws-hub.ts';
import { createDelivery, type Delivery } from './delivery.ts';
import { createEnvelopeStore } from './envelope-store.ts';
import { relayRoutes } from './relay-routes.ts';
import { createSendThrottle } from './send-throttle.ts';
import { connectPeer, seedDevice, type FramePeer } from './test-fixtures.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const silent = createLogger({ level: 'silent' });

describe('websocket delivery across two gateway instances (postgres)', () => {
  const open = testDbPerTest('postgres');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const { db } = await open();
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const keyPrefix = `test-${randomUUID()}:`;
    const store = createEnvelopeStore(db);
    const instances: { url: string; delivery: Delivery }[] = [];
    const h = identityHarness({
      db,
      redis,
      routes: (identity, { audit, config }) => [
        relayRoutes({
          config,
          db,
          audit,
          access: identity.access,
          sessionMw: identity.sessionMw,
          store,
          throttle: createSendThrottle(redis, { keyPrefix, perMinute: 10_000 }),
          // The HTTP app plays instance A: it publishes through A's delivery.
          notify: async (user, refs) => instances[0]?.delivery.notifyEnvelopes(user, refs),
        }),
      ],
    });
    cleanups.push(() => h.close());

    // Two gateway instances: each its own hub, HTTP server, Redis connection and delivery.
    for (let i = 0; i < 2; i++) {
      const own = await connectRedis(inject('redisUrl'));
      const server = createServer((_req, res) => res.writeHead(404).end());
      const hub = createWsHub({ authenticate: h.identity.authenticateUpgrade, sessions: h.identity.sessions, originAllowed: () => true, log: silent });
      hub.attach(server);
      const delivery = createDelivery({ db, redis: own, audit: h.audit, log: silent, hub, store, keyPrefix, batchSize: 3 });
      await delivery.ready();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(async () => {
        await delivery.close();
        await delivery.close(); // idempotent
        await hub.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await own.quit();
      });
      instances.push({ url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, delivery });
    }

    const provider = await h.seedStaff('provider');
    const patientId = await h.seedPatient();
    await h.addToCareTeam(provider.id, patientId);
    const pro = await h.staffSession(provider);
    const pat = await h.patientSession(patientId, 'messaging');
    const patientUser = pat.session.principal.userId;
    await seedDevice(db, provider.id, 1, 101);
    await seedDevice(db, patientUser, 1, 201);

    const connect = async (instance: 0 | 1, token: string): Promise<FramePeer> => {
      const url = instances[instance]?.url ?? '';
      const p = await connectPeer(url, { authorization: `Bearer ${token}` });
      cleanups.push(() => p.close());
      await p.next('ready');
      return p;
    };
    const sendToProvider = async (text: string): Promise<string> => {
      const res = await h.call('PUT', `/v1/messages/${provider.id}`, pat.token, { senderDevice: 1, messages: [{ deviceId: 1, registrationId: 101, type: 3, content: b64(text) }] });
      expect(res.status).toBe(200);
      return ((await res.json()) as { envelopes: { id: string }[] }).envelopes[0]?.id ?? '';
    };
    return { db, h, store, instances, provider, patientUser, proToken: pro.token, patToken: pat.token, connect, sendToProvider };
  }

  type MessageFrame = { envelope: { id: string; content: string; senderUserId: string; senderDevice: number; type: number } };
  const text = (f: Record<string, unknown>) => Buffer.from((f as unknown as MessageFrame).envelope.content, 'base64').toString();
  const messages = (p: FramePeer) => p.frames.filter((f) => f['type'] === 'message').map(text);

  it('pushes live to a device subscribed on the other instance, and acks delete the row', async () => {
    const t = await setup();
    const onB = await t.connect(1, t.proToken);
    onB.send({ type: 'messages.subscribe', deviceId: 1 });
    expect(await onB.next('messages.subscribed')).toEqual({ type: 'messages.subscribed', deviceId: 1 });
    await onB.next('messages.drained');

    const id = await t.sendToProvider('hello from the patient');
    const frame = await onB.next('message');
    expect(text(frame)).toBe('hello from the patient');
    expect((frame as unknown as MessageFrame).envelope).toMatchObject({ id, senderUserId: t.patientUser, senderDevice: 1, type: 3 });

    onB.send({ type: 'messages.ack', ids: [id] });
    await expect.poll(async () => (await t.store.listPending(t.provider.id, 1)).length).toBe(0);
    await expect.poll(async () => (await t.h.auditRows('message.ack')).map((r) => r.details)).toEqual([{ deviceId: 1, count: 1, channel: 'websocket' }]);
  });

  it('sends an offline device its backlog in order exactly once, then live; unacked envelopes come again on reconnect', async () => {
    const t = await setup();
    const backlog = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'];
    for (const m of backlog) await t.sendToProvider(m);

    const first = await t.connect(0, t.proToken);
    first.send({ type: 'messages.subscribe', deviceId: 1 });
    // Sent while the backlog drains: notices race the cursor and must neither duplicate nor skip.
    const live = ['l1', 'l2', 'l3'];
    for (const m of live) await t.sendToProvider(m);
    await first.next('messages.drained');
    await expect.poll(() => messages(first)).toEqual([...backlog, ...live]);
    expect((await t.h.auditRows('message.deliver'))[0]?.details).toMatchObject({ deviceId: 1, channel: 'websocket' });

    // Ack only the first three, reconnect: the other seven come again, in order.
    const ids = first.frames.filter((f) => f['type'] === 'message').map((f) => (f as unknown as MessageFrame).envelope.id);
    first.send({ type: 'messages.ack', ids: ids.slice(0, 3) });
    await expect.poll(async () => (await t.store.listPending(t.provider.id, 1)).length).toBe(7);
    await first.close();

    const again = await t.connect(1, t.proToken);
    again.send({ type: 'messages.subscribe', deviceId: 1 });
    await again.next('messages.drained');
    expect(messages(again)).toEqual([...backlog, ...live].slice(3));
    again.send({ type: 'messages.ack', ids: ids.slice(3) });
    await expect.poll(async () => (await t.store.listPending(t.provider.id, 1)).length).toBe(0);
    // Nothing more arrives once everything is acked.
    await new Promise((r) => setTimeout(r, 100));
    expect(messages(again)).toHaveLength(7);
  });

  it('an ack for someone else’s envelope deletes nothing', async () => {
    const t = await setup();
    const id = await t.sendToProvider('for the provider');
    const patient = await t.connect(0, t.patToken);
    patient.send({ type: 'messages.subscribe', deviceId: 1 });
    await patient.next('messages.drained');
    patient.send({ type: 'messages.ack', ids: [id] });
    await expect.poll(async () => (await t.h.auditRows('message.ack')).map((r) => r.details)).toEqual([{ deviceId: 1, count: 0, channel: 'websocket' }]);
    expect((await t.store.listPending(t.provider.id, 1)).map((e) => e.id)).toEqual([id]);
  });

  it('refuses to subscribe as a device of another account, and acks before subscribing', async () => {
    const t = await setup();
    const p = await t.connect(0, t.proToken);
    p.send({ type: 'messages.ack', ids: [randomUUID()] });
    expect(await p.next('error')).toMatchObject({ code: 'not_subscribed' });
    p.send({ type: 'messages.subscribe', deviceId: 9 });
    expect(await p.next('error')).toMatchObject({ code: 'device_not_found' });
    p.send({ type: 'messages.subscribe', deviceId: 1 });
    await p.next('messages.subscribed');
    p.send({ type: 'messages.subscribe', deviceId: 1 });
    expect(await p.next('error')).toMatchObject({ code: 'already_subscribed' });
  });

  it('notifyDevice reaches the device’s sockets on another instance', async () => {
    const t = await setup();
    const onB = await t.connect(1, t.patToken);
    onB.send({ type: 'messages.subscribe', deviceId: 1 });
    await onB.next('messages.drained');
    const other = await t.connect(1, t.proToken);
    other.send({ type: 'messages.subscribe', deviceId: 1 });
    await other.next('messages.drained');
    await t.instances[0]?.delivery.notifyDevice(t.patientUser, 1, { type: 'keys.low', deviceId: 1, preKeys: 3, kyberPreKeys: 0 });
    expect(await onB.next('keys.low')).toEqual({ type: 'keys.low', deviceId: 1, preKeys: 3, kyberPreKeys: 0 });
    await new Promise((r) => setTimeout(r, 50));
    expect(other.frames.filter((f) => f['type'] === 'keys.low')).toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../core/log/logger.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import { testDbPerTest } from '../../test/helpers/databases.ts';
import { identityHarness } from '../testing/identity-harness.ts';
import { createWsHub, type WsHub } from '../ws/ws-hub.ts';
import { createMessaging, type Messaging } from './index.ts';
import { connectPeer, seedDevice } from './test-fixtures.ts';

describe('createMessaging (composition)', () => {
  const open = testDbPerTest('pglite');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('wires send, WebSocket delivery, key notices and attachments; close() is idempotent', async () => {
    const { db } = await open();
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const log = createLogger({ level: 'silent' });
    let hub: WsHub | undefined;
    let messaging: Messaging | undefined;
    const h = identityHarness({
      db,
      redis,
      routes: (identity, { audit, config }) => {
        hub = createWsHub({ authenticate: identity.authenticateUpgrade, sessions: identity.sessions, originAllowed: () => true, log });
        messaging = createMessaging({ config, db, redis, audit, log, access: identity.access, sessionMw: identity.sessionMw, hub, keyPrefix: `test-${randomUUID()}:` });
        return messaging.routes;
      },
    });
    cleanups.push(() => h.close());
    if (hub === undefined || messaging === undefined) throw new Error('not composed');
    const m = messaging;
    const server = createServer((_req, res) => res.writeHead(404).end());
    hub.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const wsHub = hub;
    cleanups.push(async () => {
      await m.close();
      await wsHub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await m.ready();

    const provider = await h.seedStaff('provider');
    const patientId = await h.seedPatient();
    await h.addToCareTeam(provider.id, patientId);
    const pro = await h.staffSession(provider);
    const pat = await h.patientSession(patientId, 'messaging');
    await seedDevice(db, provider.id, 1, 101);
    await seedDevice(db, pat.session.principal.userId, 1, 201);

    const peer = await connectPeer(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, { authorization: `Bearer ${pro.token}` });
    cleanups.push(() => peer.close());
    peer.send({ type: 'messages.subscribe', deviceId: 1 });
    await peer.next('messages.drained');

    const sent = await h.call('PUT', `/v1/messages/${provider.id}`, pat.token, { senderDevice: 1, messages: [{ deviceId: 1, registrationId: 101, type: 3, content: Buffer.from('hi').toString('base64') }] });
    expect(sent.status).toBe(200);
    const frame = (await peer.next('message')) as { envelope?: { content?: string } };
    expect(Buffer.from(frame.envelope?.content ?? '', 'base64').toString()).toBe('hi');

    await m.notifyDevice(provider.id, 1, { type: 'keys.low', deviceId: 1, preKeys: 2, kyberPreKeys: 1 });
    expect(await peer.next('keys.low')).toMatchObject({ preKeys: 2, kyberPreKeys: 1 });

    const up = await h.app.request('/v1/attachments', { method: 'POST', headers: { authorization: `Bearer ${pat.token}`, 'content-type': 'application/octet-stream' }, body: new Uint8Array([1, 2, 3]) });
    expect(up.status).toBe(201);

    // The operations render into the OpenAPI document.
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/messages/{recipientUserId}', '/v1/messages', '/v1/messages/{id}', '/v1/attachments', '/v1/attachments/{id}']));

    await m.close();
    await m.close();
  });
});

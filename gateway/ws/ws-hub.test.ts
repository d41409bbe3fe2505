import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { createLogger } from '../../core/log/logger.ts';
import { testDbPerTest } from '../../test/helpers/databases.ts';
import type { NewSession, SessionStore } from '../auth/sessions/session-store.ts';
import { sessionHarness } from '../auth/sessions/test-fixtures.ts';
import { createWsHub, type WsHub, type WsHubDeps } from './ws-hub.ts';

const ORIGIN = 'https://app.example';
const staff = (): NewSession => ({ kind: 'staff', userId: `u-${randomUUID()}`, role: 'provider', patientId: null, scope: null, appointmentId: null });

interface Peer {
  readonly ws: WebSocket;
  readonly frames: Record<string, unknown>[];
  readonly closed: Promise<{ code: number; reason: string }>;
  next(type: string, ms?: number): Promise<Record<string, unknown>>;
  send(v: unknown): void;
}

function peer(ws: WebSocket): Peer {
  const frames: Record<string, unknown>[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString('utf8')) as Record<string, unknown>));
  return {
    ws,
    frames,
    closed,
    next(type, ms = 3000) {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const tick = () => {
          const i = frames.findIndex((f) => f['type'] === type);
          const f = frames[i];
          if (f) {
            frames.splice(i, 1);
            resolve(f);
          } else if (Date.now() - started > ms) reject(new Error(`no ${type} frame`));
          else setTimeout(tick, 5);
        };
        tick();
      });
    },
    send: (v) => ws.send(typeof v === 'string' ? v : JSON.stringify(v)),
  };
}

describe('websocket hub', () => {
  const open = testDbPerTest('pglite');
  const harness = sessionHarness();
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(store: SessionStore, opts: Partial<WsHubDeps> = {}): Promise<{ url: string; hub: WsHub }> {
    const server = createServer((_req, res) => res.writeHead(404).end());
    const hub = createWsHub({
      authenticate: async (req: IncomingMessage) => {
        const a = req.headers.authorization;
        return a?.startsWith('Bearer ') ? store.authenticate(a.slice(7)) : undefined;
      },
      sessions: store,
      originAllowed: (o) => o === ORIGIN,
      log: createLogger({ level: 'silent' }),
      touch: (s) => store.touch(s.id),
      ...opts,
    });
    hub.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, hub };
  }

  function connect(url: string, headers: Record<string, string>): Promise<Peer> {
    const ws = new WebSocket(url, { headers });
    const p = peer(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(p));
      ws.once('error', reject);
    });
  }

  /** Status of a refused upgrade; fails if a socket opened. */
  function refused(url: string, headers: Record<string, string>): Promise<number> {
    const ws = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => reject(new Error('socket opened')));
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', () => undefined);
    });
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('refuses upgrades without a valid session (401), from a foreign origin (403), and on other paths (404)', async () => {
    const store = await harness((await open()).db).store();
    const { url, hub } = await start(store);
    const { token, session } = await store.create(staff());
    expect(await refused(`${url}/ws`, {})).toBe(401);
    expect(await refused(`${url}/ws`, bearer(`${'A'.repeat(43)}`))).toBe(401);
    expect(await refused(`${url}/ws`, { ...bearer(token), origin: 'https://evil.example' })).toBe(403);
    expect(await refused(`${url}/other`, bearer(token))).toBe(404);
    expect(hub.socketsFor(session.id)).toHaveLength(0);
    const ok = await connect(`${url}/ws`, { ...bearer(token), origin: ORIGIN });
    expect(await ok.next('ready')).toEqual({ type: 'ready' });
    expect(hub.socketsFor(session.id)).toHaveLength(1);
  });

  it('answers ping with pong and dispatches registered kinds; only app frames count as activity', async () => {
    const store = await harness((await open()).db).store();
    let touches = 0;
    const { url, hub } = await start(store, {
      touch: (s) => {
        touches++;
        return store.touch(s.id);
      },
    });
    hub.register('echo', z.strictObject({ n: z.number().int() }), (client, frame) => {
      client.send({ type: 'echoed', n: frame.n + 1, user: client.session.principal.userId });
    });
    const { token, session } = await store.create(staff());
    const p = await connect(`${url}/ws`, bearer(token));
    await p.next('ready');
    p.send({ type: 'ping' });
    expect(await p.next('pong')).toEqual({ type: 'pong' });
    p.send({ type: 'echo', n: 41 });
    expect(await p.next('echoed')).toEqual({ type: 'echoed', n: 42, user: session.principal.userId });
    expect(touches).toBe(1);
    expect(() => hub.register('echo', z.object({}), () => undefined)).toThrow(/already registered/);
  });

  it('answers invalid frames with invalid_frame and closes with 1008 on the third', async () => {
    const store = await harness((await open()).db).store();
    const { url, hub } = await start(store);
    hub.register('note.add', z.strictObject({ n: z.number() }), () => undefined);
    const { token } = await store.create(staff());
    const p = await connect(`${url}/ws`, bearer(token));
    await p.next('ready');
    p.send('{not json');
    expect(await p.next('error')).toMatchObject({ code: 'invalid_frame', message: 'frame is not JSON' });
    p.send({ type: 'nope' });
    expect(await p.next('error')).toMatchObject({ code: 'invalid_frame', message: 'unknown frame type' });
    p.send({ type: 'note.add', n: 'secret-value' });
    const third = await p.next('error');
    expect(third).toMatchObject({ code: 'invalid_frame' });
    expect(String(third['message'])).not.toContain('secret-value');
    expect((await p.closed).code).toBe(1008);
  });

  it('closes a socket that sends an oversized frame with 1009', async () => {
    const store = await harness((await open()).db).store();
    const { url } = await start(store, { maxPayloadBytes: 1024 });
    const { token } = await store.create(staff());
    const p = await connect(`${url}/ws`, bearer(token));
    await p.next('ready');
    p.send({ type: 'ping', pad: 'x'.repeat(2048) });
    expect((await p.closed).code).toBe(1009);
  });

  it('cuts off a peer whose outbound backlog would exceed the bound', async () => {
    const store = await harness((await open()).db).store();
    const { url, hub } = await start(store, { maxBufferedBytes: 4096 });
    hub.register('flood', z.strictObject({}), (client) => {
      client.send({ type: 'blob', data: 'y'.repeat(8192) });
    });
    const { token } = await store.create(staff());
    const p = await connect(`${url}/ws`, bearer(token));
    await p.next('ready');
    p.send({ type: 'flood' });
    expect((await p.closed).code).toBe(1006);
    expect(p.frames.some((f) => f['type'] === 'blob')).toBe(false);
  });

  it('closes the sockets of a session ended in another process with 4401 and the reason', async () => {
    const h = harness((await open()).db);
    const [a, b] = [await h.store(), await h.store()];
    const { url } = await start(a);
    const { token, session } = await a.create(staff());
    const other = await a.create(staff());
    const [p1, p2, bystander] = [await connect(`${url}/ws`, bearer(token)), await connect(`${url}/ws`, bearer(token)), await connect(`${url}/ws`, bearer(other.token))];
    await Promise.all([p1.next('ready'), p2.next('ready'), bystander.next('ready')]);
    await b.end(session.id, 'logout', { actorType: 'user', actorId: session.principal.userId });
    expect(await p1.next('session.ended')).toEqual({ type: 'session.ended', reason: 'logout' });
    expect(await p1.closed).toEqual({ code: 4401, reason: 'logout' });
    expect(await p2.closed).toEqual({ code: 4401, reason: 'logout' });
    bystander.send({ type: 'ping' });
    expect(await bystander.next('pong')).toEqual({ type: 'pong' });
  });

  it('automatic logoff: an idle session closes its open socket with 4401/idle and its token stops working', async () => {
    const h = harness((await open()).db);
    const IDLE = 1500;
    const gateway = await h.store({ idleTimeoutMs: IDLE, absoluteTimeoutMs: 60_000 });
    const httpProcess = await h.store({ idleTimeoutMs: IDLE, absoluteTimeoutMs: 60_000 });
    // Fast protocol heartbeats during the idle window: they must not keep the session alive.
    const { url } = await start(gateway, { heartbeatMs: 200 });
    gateway.startSweeper(100);
    const { token, session } = await gateway.create(staff());
    const p = await connect(`${url}/ws`, bearer(token));
    await p.next('ready');
    const opened = Date.now();
    const closed = await p.closed;
    expect(closed).toEqual({ code: 4401, reason: 'idle' });
    expect(p.frames).toContainEqual({ type: 'session.ended', reason: 'idle' });
    expect(Date.now() - opened).toBeGreaterThanOrEqual(IDLE - 300);
    expect(await httpProcess.authenticate(token)).toBeUndefined();
    expect(await gateway.authenticate(token)).toBeUndefined();
    expect(await h.auditRows()).toMatchObject([{ action: 'session.expire.idle', resource_id: session.id, actor_type: 'system' }]);
  });

  it('close() closes every socket with 1001 and is idempotent', async () => {
    const store = await harness((await open()).db).store();
    const { url, hub } = await start(store);
    const { token } = await store.create(staff());
    const p = await connect(`${url}/ws`, bearer(token));
    await p.next('ready');
    await Promise.all([hub.close(), hub.close()]);
    expect((await p.closed).code).toBe(1001);
  });
});

/**
 * For end-to-end messaging tests: a real gateway on a real socket (the composition root's
 * features, app and HTTP server, on a given database and Redis), accounts seeded straight into
 * the same database and Redis the gateway uses, SDK messengers on encrypted local stores, event
 * waits that fail loudly, and database / Redis dumps for the "no plaintext at rest" checks.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createAuditLog } from '../../core/audit/index.ts';
import type { Config } from '../../core/config/schema.ts';
import { createMasterKeyring, generateMasterKey, totpSecretAad, type MasterKeyring } from '../../core/crypto/index.ts';
import type { Db } from '../../core/db/types.ts';
import { addToCareTeam } from '../../core/identity/care-team.ts';
import { ensurePatientPrincipal } from '../../core/identity/patient-principal.ts';
import { createLogger } from '../../core/log/logger.ts';
import type { Redis } from '../../core/redis/connect.ts';
import { createApp, createLifecycle } from '../../gateway/app.ts';
import { hashPassword } from '../../gateway/auth/password.ts';
import { generateSecret } from '../../gateway/auth/totp.ts';
import { createFeatures, type Features } from '../../gateway/features.ts';
import { createIdentity, type Identity } from '../../gateway/identity.ts';
import type { RouteModule } from '../../gateway/route-module.ts';
import { startHttpServer } from '../../gateway/server.ts';
import type { MediaService } from '../../media/index.ts';
import { STAFF_PASSWORD } from '../../gateway/testing/identity-harness.ts';
import { createGatewayTransport, LocalStore, Messenger, type MessagingTransport, type MessengerEvents } from '../../sdk/index.ts';

export interface TestGateway {
  readonly url: string;
  readonly features: Features;
  close(): Promise<void>;
}

/** The gateway the composition root builds (identity, WS hub, key directory, relay), listening on loopback. */
export async function startTestGateway(opts: {
  db: Db;
  redis: Redis;
  config: Config;
  keyPrefix: string;
  keyring?: MasterKeyring;
  /** A started media service: the gateway serves video visits. */
  media?: MediaService;
  /** Routes beyond the features' own. */
  extraRoutes?: readonly RouteModule[];
  /** Serve the built browser pages from here. */
  webDistDir?: string;
  /** BullMQ prefix of the reminder queue. */
  bullPrefix?: string;
}): Promise<TestGateway> {
  const { db, redis, config, keyPrefix } = opts;
  const log = createLogger({ level: 'silent' });
  let listenUrl = '';
  const features = createFeatures({
    config,
    db,
    redis,
    log,
    audit: createAuditLog(db),
    keyring: opts.keyring ?? createMasterKeyring(generateMasterKey()),
    checkpointKeys: [generateKeyPairSync('ed25519').publicKey],
    listenUrl: () => listenUrl,
    keyPrefix,
    ...(opts.media === undefined ? {} : { media: opts.media }),
    ...(opts.webDistDir === undefined ? {} : { webDistDir: opts.webDistDir }),
    ...(opts.bullPrefix === undefined ? {} : { bullPrefix: opts.bullPrefix }),
  });
  await features.ready();
  const lifecycle = createLifecycle();
  const app = createApp({ config, log, health: [], metrics: new Registry(), lifecycle }, [...features.routes, ...(opts.extraRoutes ?? [])]);
  const server = await startHttpServer(app, { config, log, lifecycle });
  listenUrl = server.url;
  features.hub.attach(server.server);
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    features,
    close() {
      closing ??= (async () => {
        await features.hub.close();
        await server.close();
        await features.close();
      })();
      return closing;
    },
  };
}

export interface People {
  readonly provider: { id: string; username: string; password: string; totpSecret: string; token: string };
  readonly patient: { patientId: string; userId: string; token: string };
}

/**
 * A provider (password + enrolled TOTP) and a patient on their care team, each with a session
 * (staff; patient scope `messaging`) in the Redis the gateway reads.
 */
export async function seedPeople(identity: Identity, db: Db): Promise<People> {
  const username = `provider-${randomUUID().slice(0, 8)}`;
  const user = await identity.users.createStaff({ username, displayName: 'Test provider', role: 'provider', passwordHash: await hashPassword(STAFF_PASSWORD), createdBy: null });
  const totpSecret = generateSecret();
  const sealed = identity.sealer.seal(Buffer.from(totpSecret, 'utf8'), totpSecretAad(user.id));
  await identity.users.startTotpEnrollment(user.id, sealed);
  await identity.users.confirmTotpEnrollment(user.id, 0, sealed);
  const { id: patientId } = await identity.patients.create(
    { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1990-04-01', phone: '+15555550123', email: 'ada@example.org', mrn: 'MRN-1', timeZone: 'America/New_York' },
    { actorType: 'system', actorId: 'test' },
  );
  await addToCareTeam(db, user.id, patientId, null);
  const { id: patientUserId } = await ensurePatientPrincipal(db, patientId);
  const pro = await identity.sessions.create({ kind: 'staff', userId: user.id, role: 'provider', patientId: null, scope: null, appointmentId: null });
  const pat = await identity.sessions.create({ kind: 'patient', userId: patientUserId, role: null, patientId, scope: 'messaging', appointmentId: null });
  return {
    provider: { id: user.id, username, password: STAFF_PASSWORD, totpSecret, token: pro.token },
    patient: { patientId, userId: patientUserId, token: pat.token },
  };
}

/** An identity layer in the test process on the gateway's database and Redis (seeding only). */
export function seedingIdentity(opts: { db: Db; redis: Redis; config: Config; keyPrefix: string; keyring: MasterKeyring }): Identity {
  return createIdentity({
    ...opts,
    log: createLogger({ level: 'silent' }),
    audit: createAuditLog(opts.db),
    checkpointKeys: [],
    listenUrl: () => 'http://127.0.0.1:1',
  });
}

/** Temp directories and local stores, removed/closed by `cleanup()`. */
export function storeFactory() {
  const dirs: string[] = [];
  const stores: LocalStore[] = [];
  return {
    async open(): Promise<LocalStore> {
      const dir = await mkdtemp(path.join(tmpdir(), 'th-e2e-store-'));
      dirs.push(dir);
      // A raw key: scrypt is the CLI's concern, and slow on purpose.
      const store = await LocalStore.create(path.join(dir, 'state'), { rawKey: randomBytes(32) });
      stores.push(store);
      return store;
    },
    async cleanup(): Promise<void> {
      for (const s of stores.splice(0)) await s.close();
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}

/** Every event of a messenger, recorded in arrival order, with waits that fail with a clear message. */
export class Recorder {
  readonly name: string;
  readonly events: { [K in keyof MessengerEvents]: MessengerEvents[K][] } = {
    message: [],
    sentCopy: [],
    receipt: [],
    identityChanged: [],
    decryptError: [],
    drained: [],
    sessionEnded: [],
    deviceRemoved: [],
    connection: [],
    error: [],
  };
  readonly #waiters = new Set<() => void>();

  constructor(name: string, messenger: Messenger) {
    this.name = name;
    for (const type of Object.keys(this.events) as (keyof MessengerEvents)[]) {
      messenger.on(type, (e: MessengerEvents[keyof MessengerEvents]) => {
        (this.events[type] as unknown[]).push(e);
        for (const w of this.#waiters) w();
      });
    }
  }

  /** Resolves once `predicate` holds over the recorded events; rejects after `timeoutMs` naming what was awaited. */
  until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        const counts = Object.entries(this.events).map(([k, v]) => `${k}=${v.length}`).join(' ');
        const errors = this.events.error.map((e) => e.error.message).join('; ');
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what} (events: ${counts}${errors ? `; errors: ${errors}` : ''})`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  texts(): string[] {
    return this.events.message.map((e) => e.message.text);
  }
}

/** The real gateway transport, recording the ciphertext types each send used (2 whisper, 3 prekey). */
export function recordingTransport(baseUrl: string, token: string): { transport: MessagingTransport; sentTypes: { to: string; types: number[] }[]; rawDeliveries: string[] } {
  const real = createGatewayTransport({ baseUrl, token });
  const sentTypes: { to: string; types: number[] }[] = [];
  const rawDeliveries: string[] = [];
  const transport: MessagingTransport = {
    ...real,
    async sendMessages(to, body) {
      const result = await real.sendMessages(to, body);
      sentTypes.push({ to, types: body.messages.map((m) => m.type) });
      return result;
    },
    subscribe: (deviceId, handlers) =>
      real.subscribe(deviceId, {
        ...handlers,
        onEnvelope: (env) => {
          rawDeliveries.push(env.id);
          return handlers.onEnvelope(env);
        },
      }),
  };
  return { transport, sentTypes, rawDeliveries };
}

/** A registered device: store, messenger, recorder. `start()` connects (backlog, then live). */
export async function newDevice(stores: ReturnType<typeof storeFactory>, baseUrl: string, token: string, userId: string, name: string) {
  const store = await stores.open();
  const rec = recordingTransport(baseUrl, token);
  const messenger = new Messenger({ store, transport: rec.transport });
  const { deviceId } = await messenger.registerDevice(userId, name);
  return { store, messenger, recorder: new Recorder(name, messenger), deviceId, ...rec };
}

/** Every row of every table in the public schema, as text (how the PHI-at-rest test dumps PGlite). */
export async function dumpTables(db: Db): Promise<string> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await db.query<{ t: string }>(`SELECT t::text AS t FROM "${table_name}" t`);
    parts.push(`-- ${table_name}`, ...rows.map((r) => r.t));
  }
  return parts.join('\n');
}

/** Every key of a Redis (KEYS *): its DUMP bytes and its readable value by type. */
export async function dumpRedis(redis: Redis): Promise<string> {
  const parts: string[] = [];
  for (const key of await redis.keys('*')) {
    const type = await redis.type(key);
    parts.push(`-- ${key} (${type})`);
    const dumped = await redis.dumpBuffer(key);
    if (dumped) parts.push(dumped.toString('latin1'));
    if (type === 'string') parts.push((await redis.getBuffer(key))?.toString('latin1') ?? '');
    else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
    else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
    else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES')));
    else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
  }
  return parts.join('\n');
}

/** Records everything published on any channel of this Redis until `stop()`. */
export async function recordPublished(redis: Redis): Promise<{ text(): string; stop(): Promise<void> }> {
  const sub = redis.duplicate();
  const seen: string[] = [];
  sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => seen.push(`${channel.toString('latin1')} ${message.toString('latin1')}`));
  await sub.psubscribe('*');
  return {
    text: () => seen.join('\n'),
    async stop() {
      await sub.punsubscribe('*');
      await sub.quit();
    },
  };
}

/** Where a plaintext shows up in a dump: as is, lower case, hex, base64. */
export function leaks(dump: string, value: string): string[] {
  const forms = new Set([value, value.toLowerCase(), Buffer.from(value).toString('hex'), Buffer.from(value).toString('base64')]);
  return [...forms].filter((f) => dump.includes(f));
}

/** Polls a condition on shared state (database rows written by another party); fails loudly. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(() => r(), 20));
  }
}

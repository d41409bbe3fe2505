/**
 * Bench target process for `npm run bench -- relay`: the REAL gateway (every feature from
 * createFeatures, the full HTTP app, the WebSocket hub attached to the server) on a loopback
 * port, with a private redis-server, an in-memory PGlite database and the audit chain. It seeds
 * two provider accounts with one device each (real libsignal keys, checked and stored the way
 * the key directory stores them), signs each in, and prints `<port> <details>` on stdout, where
 * details is base64url JSON of the sender's and recipient's tokens, user id and device ids
 * (load-tests/bench/relay.ts, TargetInfo). Exits on SIGTERM/SIGINT after a graceful close.
 *
 * Config is the defaults except MESSAGE_SEND_PER_MINUTE, raised so the per-account send limit
 * does not cap the measurement. Spawned by load-tests/bench by path (load-tests import nothing
 * from the server folders).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { createAuditLog } from '../../core/audit/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import { createMasterKeyring, generateMasterKey } from '../../core/crypto/index.ts';
import { migrate } from '../../core/db/migrate.ts';
import { openPglite } from '../../core/db/pglite.ts';
import type { Db } from '../../core/db/types.ts';
import { provideRedis } from '../../core/redis/provide.ts';
import { createApp, createLifecycle } from '../app.ts';
import { hashPassword } from '../auth/password.ts';
import { createFeatures } from '../features.ts';
import { createDeviceStore } from '../keys/device-store.ts';
import { checkKeys } from '../keys/key-check.ts';
import { testDevice } from '../keys/test-keys.ts';
import type { RouteModule } from '../route-module.ts';
import { startHttpServer } from '../server.ts';
import { discardingLogger, stopOnSignal } from './bench-process.ts';

/** The per-account send limit for the bench (the schema's maximum; the default is 120). */
const SEND_PER_MINUTE = '100000';

const dataDir = mkdtempSync(path.join(tmpdir(), 'th-relay-bench-'));
const config = loadConfig({
  APP_ENV: 'development',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  SHUTDOWN_GRACE_MS: '1000',
  DATA_DIR: dataDir,
  REDIS_URL: process.env['REDIS_URL'] ?? '',
  MESSAGE_SEND_PER_MINUTE: SEND_PER_MINUTE,
});

/** Drops each fully serialised log line: logging is measured, moving its bytes to a sink is not. */
const log = discardingLogger(config.logLevel);
const redis = await provideRedis(config, log);
const db = await openPglite();
await migrate(db);
const audit = createAuditLog(db);
let listenUrl = '';
const features = createFeatures({
  config,
  db,
  redis: redis.client,
  log,
  audit,
  keyring: createMasterKeyring(generateMasterKey()),
  checkpointKeys: [generateKeyPairSync('ed25519').publicKey],
  listenUrl: () => listenUrl,
});
await features.ready();

/** A provider account with one registered device (real libsignal keys) and a signed-in session. */
async function seedProvider(db: Db, name: string): Promise<{ userId: string; deviceId: number; registrationId: number; token: string }> {
  const user = await features.identity.users.createStaff({
    username: `bench-${name}-${randomBytes(4).toString('hex')}`,
    displayName: `Bench ${name}`,
    role: 'provider',
    passwordHash: await hashPassword(randomBytes(24).toString('base64url')),
    createdBy: null,
  });
  const registration = testDevice().registration();
  const checked = checkKeys({ ...registration, preKeys: [], kyberPreKeys: [] });
  if (checked.signedPreKey === undefined || checked.lastResortKyberPreKey === undefined) throw new Error('bench device keys incomplete');
  const deviceId = await createDeviceStore(db).register(
    user.id,
    { registrationId: registration.registrationId, label: null, identityKey: checked.identityKey, signedPreKey: checked.signedPreKey, lastResortKyberPreKey: checked.lastResortKyberPreKey },
    config.maxDevicesPerAccount,
  );
  const { token } = await features.identity.sessions.create({ kind: 'staff', userId: user.id, role: 'provider', patientId: null, scope: null, appointmentId: null });
  return { userId: user.id, deviceId, registrationId: registration.registrationId, token };
}

const sender = await seedProvider(db, 'sender');
const recipient = await seedProvider(db, 'recipient');

/**
 * Bench-only: the heap after full collections, so the harness can measure what an idle socket
 * costs (resident memory alone is too coarse: freed pages absorb new allocations).
 */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
const heapRoute: RouteModule = (app) =>
  app.get('/bench/heap', (c) => {
    collect();
    collect();
    const m = process.memoryUsage();
    return c.json({ heapUsed: m.heapUsed, external: m.external, rss: m.rss });
  });

const lifecycle = createLifecycle();
const app = createApp({ config, log, health: [], metrics: new Registry(), lifecycle }, [...features.routes, heapRoute]);
const running = await startHttpServer(app, { config, log, lifecycle });
listenUrl = running.url;
features.hub.attach(running.server);

const details = {
  senderToken: sender.token,
  senderDevice: sender.deviceId,
  recipientToken: recipient.token,
  recipientUserId: recipient.userId,
  recipientDevice: recipient.deviceId,
  recipientRegistrationId: recipient.registrationId,
};
process.stdout.write(`${running.port} ${Buffer.from(JSON.stringify(details), 'utf8').toString('base64url')}\n`);

stopOnSignal(async () => {
  await features.hub.close();
  await running.close();
  await features.close();
  await redis.close();
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

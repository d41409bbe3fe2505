/**
 * Bench target process: the FULL gateway HTTP stack (request frame, security headers, access log
 * serialised by pino into a discarding stream, metrics, body guard, session authentication
 * against the real Redis-backed session store, zod validation, onError) plus the bench-only
 * POST /bench/echo, on a loopback port. It starts a private redis-server and an in-memory
 * database for the audit chain, signs one staff session in, and prints `<port> <token>` on
 * stdout when listening; exits on SIGTERM/SIGINT after a graceful close. Spawned by
 * load-tests/bench (by path: load-tests imports nothing from the server folders).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createAuditLog } from '../../core/audit/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import { migrate } from '../../core/db/migrate.ts';
import { openPglite } from '../../core/db/pglite.ts';
import { provideRedis } from '../../core/redis/provide.ts';
import { createApp, createLifecycle } from '../app.ts';
import { createRefusalAudit } from '../auth/refusal-audit.ts';
import { createSessionMiddleware } from '../auth/session-middleware.ts';
import { createSessionStore } from '../auth/sessions/session-store.ts';
import { startHttpServer } from '../server.ts';
import { echoRoutes } from './echo-route.ts';
import { discardingLogger, stopOnSignal } from './bench-process.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'th-bench-'));
const config = loadConfig({ APP_ENV: 'development', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '1000', DATA_DIR: dataDir, REDIS_URL: process.env['REDIS_URL'] ?? '' });
const log = discardingLogger(config.logLevel);
const redis = await provideRedis(config, log);
const db = await openPglite();
await migrate(db);
const audit = createAuditLog(db);
const sessions = createSessionStore({ redis: redis.client, audit, log, idleTimeoutMs: config.sessionIdleTimeoutSec * 1000, absoluteTimeoutMs: config.sessionAbsoluteTimeoutSec * 1000 });
await sessions.ready();
const { token } = await sessions.create({ kind: 'staff', userId: '00000000-0000-4000-8000-000000000001', role: 'scheduler', patientId: null, scope: null, appointmentId: null });
const sessionMw = createSessionMiddleware({ sessions, refusals: createRefusalAudit(audit), originAllowed: () => false });

const lifecycle = createLifecycle();
const app = createApp({ config, log, health: [], metrics: new Registry(), lifecycle }, [echoRoutes(sessionMw.required)]);
const running = await startHttpServer(app, { config, log, lifecycle });
process.stdout.write(`${running.port} ${token}\n`);

stopOnSignal(async () => {
  await running.close();
  await sessions.close();
  await redis.close();
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

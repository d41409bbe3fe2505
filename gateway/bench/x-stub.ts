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
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { createAuditLog } from '../../core/audit/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import { migrate } from '../../core/db/migrate.ts';
import { openPglite } from '../../core/db/pglite.ts';
import { createLogger } from '../../core/log/logger.ts';
import { provideRedis } from '../../core/redis/provide.ts';
import { createApp, createLifecycle } from '../app.ts';
import { createRefusalAudit } from '../auth/refusal-audit.ts';
import { createSessionMiddleware } from '../auth/session-middleware.ts';
import { createSessionStore } from '../auth/sessions/session-store.ts';
import { startHttpServer } from '../server.ts';
import { echoRoutes } from './echo-route.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'th-bench-'));
const config = loadConfig({ APP_ENV: 'development', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '1000', DATA_DIR: dataDir, REDIS_URL: process.env['REDIS_URL'] ?? '' });
/**
 * The log sink: accepts each line pino has fully serialised and drops it. Access logging stays
 * on at info, so the gateway's logging cost is measured; what a real sink (stdout, a file)
 * costs to move the bytes is not the gateway's and is left out.
 */
class Discard extends Writable {
  override write(): boolean {
    return true;
  }
}
const log = createLogger({ level: config.logLevel, destination: new Discard() });
const redis = await provideRedis(config, log);
const db: any = { kind: 'pglite', query: async () => [], exec: async () => {}, transaction: async (fn: any) => fn({ query: async () => [], exec: async () => {} }), close: async () => {} }; void migrate; void openPglite;
const audit = createAuditLog(db);
const sessions = createSessionStore({ redis: redis.client, audit, log, idleTimeoutMs: config.sessionIdleTimeoutSec * 1000, absoluteTimeoutMs: config.sessionAbsoluteTimeoutSec * 1000 });
await sessions.ready();
const { token } = await sessions.create({ kind: 'staff', userId: '00000000-0000-4000-8000-000000000001', role: 'scheduler', patientId: null, scope: null, appointmentId: null });
const sessionMw = createSessionMiddleware({ sessions, refusals: createRefusalAudit(audit), originAllowed: () => false });

const lifecycle = createLifecycle();
const app = createApp({ config, log, health: [], metrics: new Registry(), lifecycle }, [echoRoutes(sessionMw.required)]);
const running = await startHttpServer(app, { config, log, lifecycle });
process.stdout.write(`${running.port} ${token}\n`);

const stop = (): void => {
  const closeAll = async (): Promise<void> => {
    await running.close();
    await sessions.close();
    await redis.close();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  closeAll().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`close failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

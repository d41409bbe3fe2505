/**
 * Bench target process: the FULL gateway HTTP stack (request frame, security headers, access log
 * serialised by pino into a discarding stream, metrics, body guard, zod validation, onError) plus
 * the bench-only POST /bench/echo, on a loopback port. Prints the port on stdout when listening;
 * exits on SIGTERM/SIGINT after a graceful close. Spawned by load-tests/bench (by path: load-tests
 * imports nothing from the server folders).
 */
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { loadConfig } from '../../core/config/load.ts';
import { createLogger } from '../../core/log/logger.ts';
import { createApp, createLifecycle } from '../app.ts';
import { startHttpServer } from '../server.ts';
import { echoRoutes } from './echo-route.ts';

const config = loadConfig({ APP_ENV: 'development', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '1000' });
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
const discard = new Discard();
const log = createLogger({ level: config.logLevel, destination: discard });
const lifecycle = createLifecycle();
const app = createApp({ config, log, health: [], metrics: new Registry(), lifecycle }, [echoRoutes]);
const running = await startHttpServer(app, { config, log, lifecycle });
process.stdout.write(`${running.port}\n`);

const stop = (): void => {
  running.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`close failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

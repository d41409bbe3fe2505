/** `telehealth start` (all-in-one) and `telehealth gateway` (scaled: no reminder sending): run in the foreground until SIGTERM/SIGINT. */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../core/config/load.ts';
import { createLogger } from '../../core/log/logger.ts';
import { startAllInOne, type StartOptions } from '../main.ts';
import type { Command } from './types.ts';

function serve(words: readonly string[], summary: string, help: string, options: StartOptions): Command {
  return {
    words: [...words],
    summary,
    help,
    async run(ctx) {
      parseArgs({ args: [...ctx.argv], options: {}, strict: true, allowPositionals: false });
      const cfg = loadConfig(ctx.env);
      const log = createLogger({ level: cfg.logLevel, name: 'telehealth' });
      const running = await startAllInOne(cfg, log, options);
      ctx.stderr.write(`telehealth listening on ${running.url} (${cfg.env} mode). Ctrl-C to stop.\n`);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) {
            log.warn({ signal }, 'second signal: exiting without waiting');
            process.exit(1);
          }
          stopping = true;
          log.info({ signal }, 'shutting down');
          running.close(signal).then(resolve, (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      return typeof process.exitCode === 'number' ? process.exitCode : 0;
    },
  };
}

const SHUTDOWN = `SIGTERM or SIGINT drains in-flight requests (SHUTDOWN_GRACE_MS), records system.stop in the
audit chain with a signed checkpoint, and stops the private Redis. A second signal exits at once.

Configuration: see \`telehealth config docs\`. Exit codes: 0 clean shutdown, 2 configuration or
start-up problem (the message names what to fix), 1 unexpected failure.`;

export const serverCommands: Command[] = [
  serve(
    ['start'],
    'run the gateway (all-in-one) in the foreground; `npm start` runs this',
    `Usage: telehealth start

Runs the gateway with embedded defaults: PGlite under DATA_DIR (or PostgreSQL via DATABASE_URL),
a private redis-server with AOF under DATA_DIR (or Redis via REDIS_URL). Serves HTTP(S) on
HOST:PORT: GET /healthz, /readyz, /metrics, /openapi.json, /docs. Video visits and reminder
delivery run in this process too.

${SHUTDOWN}`,
    {},
  ),
  serve(
    ['gateway'],
    'run a gateway of a scaled deployment: HTTP, WebSocket, video; reminders left to `telehealth worker`',
    `Usage: telehealth gateway

The same as \`telehealth start\` except that it sends no reminders itself: in a scaled deployment
(several gateways and \`telehealth worker\` processes on one PostgreSQL (DATABASE_URL) and one
Redis (REDIS_URL), sharing MASTER_KEY and the audit signing key) the workers do all the sending,
at the rate limits set once for everyone. Campaigns are still created and watched here.

${SHUTDOWN}`,
    { reminders: false },
  ),

];

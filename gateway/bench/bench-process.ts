/**
 * What every bench target process shares: a logger that serialises every line and drops it
 * (logging is measured; moving its bytes to a sink is not), and a graceful stop on SIGTERM /
 * SIGINT that runs the target's close steps and exits.
 */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../core/log/logger.ts';
import type { Config } from '../../core/config/schema.ts';

class Discard extends Writable {
  override write(): boolean {
    return true;
  }
}

export function discardingLogger(level: Config['logLevel']): Logger {
  return createLogger({ level, destination: new Discard() });
}

/** On the first SIGTERM or SIGINT: run `close`, then exit 0 (or 1, saying why). */
export function stopOnSignal(close: () => Promise<void>): void {
  const stop = (): void => {
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * A private redis-server child process: loopback only, a random per-start password, data under
 * the given directory. `npm start` uses it (AOF on) when REDIS_URL is unset; the test harness
 * uses it (persistence off). Stopped on close(); a leftover from a crashed run is reaped first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { StartupError } from '../errors.ts';
import { freePort, sleep } from '../net.ts';

export interface EmbeddedRedisOptions {
  readonly dir: string;
  readonly bin?: string;
  /** AOF persistence (default true). */
  readonly appendOnly?: boolean;
  readonly port?: number;
}

export interface EmbeddedRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Idempotent: SIGTERM (Redis flushes the AOF), then SIGKILL after 5 s. */
  close(): Promise<void>;
  /** For fault tests: kill -9 without a chance to flush. */
  kill(): void;
}

export function redisServerAvailable(bin = 'redis-server'): boolean {
  const r = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

function reapLeftover(pidFile: string): void {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.includes('redis-server')) process.kill(pid, 'SIGTERM');
  } catch {
    // not running any more
  }
}

export async function startEmbeddedRedis(opts: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const bin = opts.bin ?? 'redis-server';
  if (!redisServerAvailable(bin)) {
    throw new StartupError(
      'no Redis: REDIS_URL is unset and redis-server was not found',
      'Install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_URL=redis://host:6379 to use an existing Redis.',
    );
  }
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const pidFile = path.join(opts.dir, 'redis.pid');
  reapLeftover(pidFile);
  const port = opts.port ?? (await freePort());
  const password = randomBytes(24).toString('hex');
  const appendOnly = opts.appendOnly ?? true;
  // The password goes through a config file (0600), not argv, so `ps` never shows it.
  const conf = path.join(opts.dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode yes',
      `dir ${opts.dir}`,
      'save ""',
      `appendonly ${appendOnly ? 'yes' : 'no'}`,
      'appendfsync everysec',
      'daemonize no',
      `requirepass ${password}`,
      'maxmemory-policy noeviction',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const child: ChildProcess = spawn(bin, [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  if (child.pid === undefined) throw new StartupError(`could not start ${bin}`);
  writeFileSync(pidFile, String(child.pid));
  const url = `redis://:${password}@127.0.0.1:${port}`;

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new StartupError(`redis-server exited during start-up: ${stderr.trim() || 'no output'}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    probe.on('error', () => undefined); // the loop below reports
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new StartupError(`redis-server did not answer on port ${port} within 15 s`);
      }
      await sleep(50);
    }
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    pid: child.pid,
    close() {
      closing ??= (async () => {
        if (!exited) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exitedP;
          clearTimeout(t);
        }
        rmSync(pidFile, { force: true });
      })();
      return closing;
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}

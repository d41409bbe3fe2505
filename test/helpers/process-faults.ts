/**
 * Plumbing for the fault tests (test/faults/): `telehealth` commands as child processes, and a
 * Redis and a PostgreSQL that a test can stop and start again on the same port and data
 * directory — what an operator's restart (or a crash) looks like to the processes using them.
 * The global test Redis and PostgreSQL are shared with every other test file, so a test that
 * restarts one starts its own here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll } from 'vitest';
import { freePort, sleep } from '../../core/net.ts';
import { asPostgresUser, findBinDir } from './postgres-server.ts';

export const CLI = path.resolve(import.meta.dirname, '../../bin/telehealth');

/** The environment of a child `telehealth`: this process's, without settings a developer's shell may carry. */
export function childEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const { REDIS_URL: _r, DATABASE_URL: _d, CONFIG_FILE: _c, ...rest } = process.env;
  return { ...rest, LOG_LEVEL: 'warn', ...extra };
}

export interface Child {
  readonly process: ChildProcess;
  /** The last 8 kB of its stderr. */
  stderr(): string;
  /** Still running (not exited, not killed). */
  alive(): boolean;
  readonly exited: Promise<void>;
}

/** `telehealth <args>` as a child; resolves once its stderr matches `ready`, with the match. */
export function spawnTelehealth(args: readonly string[], env: Readonly<Record<string, string>>, ready: RegExp, timeoutMs = 30_000): Promise<Child & { readonly match: RegExpExecArray }> {
  const child = spawn(CLI, [...args], { env: childEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let done = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => ((done = true), resolve())));
  const handle: Child = { process: child, stderr: () => err, alive: () => !done, exited };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`telehealth ${args.join(' ')} not ready within ${timeoutMs} ms: ${err}`)), timeoutMs);
    let matched = false;
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-8000);
      const m = matched ? null : ready.exec(err);
      if (m) {
        matched = true;
        clearTimeout(t);
        resolve({ ...handle, match: m });
      }
    });
    void exited.then(() => {
      clearTimeout(t);
      if (!matched) reject(new Error(`telehealth ${args.join(' ')} exited (${String(child.exitCode ?? child.signalCode)}) before it was ready: ${err}`));
    });
  });
}

/** Signals a child and waits for it to exit (SIGKILL after `graceMs`). */
export async function stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (!child.alive()) return;
  child.process.kill(signal);
  const t = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(t);
}

/** `telehealth audit verify --json` against the deployment `env` names (the operator's check). */
export async function auditVerify(env: Readonly<Record<string, string>>): Promise<{ ok: boolean; checked: number; output: string }> {
  const child = spawn(CLI, ['audit', 'verify', '--json'], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = out.trim().split('\n').pop() ?? '';
  let parsed: { ok?: unknown; checked?: unknown } = {};
  try {
    parsed = JSON.parse(line) as { ok?: unknown; checked?: unknown };
  } catch {
    // reported below through `output`
  }
  return { ok: code === 0 && parsed.ok === true, checked: typeof parsed.checked === 'number' ? parsed.checked : -1, output: `exit ${String(code)}: ${out}${err}` };
}

/** One JSON line per fault test, the counts the issue asks every fault test to print. */
export function printCounts(counts: { test: string; sent: number; delivered: number; lost: number; duplicated: number; chainOk: boolean; recoveryMs: number } & Record<string, unknown>): void {
  console.log(JSON.stringify(counts));
}

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * A redis-server configured as the product's private one (core/redis/embedded.ts: AOF on,
 * `appendfsync everysec`, password, loopback), but with a password fixed for its lifetime so
 * that it can be stopped and started again on the same port and data directory and the
 * clients' URL stays valid.
 */
export class RestartableRedis {
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  readonly #conf: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
    const password = randomBytes(24).toString('hex');
    this.url = `redis://:${password}@127.0.0.1:${port}`;
    this.#conf = path.join(dir, 'redis.conf');
    writeFileSync(
      this.#conf,
      [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'save ""', 'appendonly yes', 'appendfsync everysec', 'daemonize no', `requirepass ${password}`, 'maxmemory-policy noeviction', ''].join('\n'),
      { mode: 0o600 },
    );
  }

  static async start(): Promise<RestartableRedis> {
    const dir = mkdtempSync(path.join(tmpdir(), 'th-fault-redis-'));
    const r = new RestartableRedis(dir, await freePort());
    await r.start();
    return r;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts redis-server (it replays the AOF in `dir`) and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.#child) throw new Error('redis-server is already running');
    const child = spawn('redis-server', [this.#conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    this.#child = child;
    this.#exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        this.#child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (this.#child === undefined) throw new Error(`redis-server exited during start-up: ${stderr}`);
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      probe.on('error', () => undefined); // the loop retries until the deadline
      try {
        await probe.connect();
        // `PING` answers while the AOF is still loading only with an error: wait for a real answer.
        if ((await probe.ping()) === 'PONG') {
          probe.disconnect();
          return;
        }
      } catch {
        // not yet
      }
      probe.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${this.port}: ${stderr}`);
      await sleep(25);
    }
  }

  /** Sends `signal` to redis-server and waits for it to exit. */
  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill(signal);
    await this.#exited;
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}



/**
 * A dedicated PostgreSQL cluster (initdb in a temp dir, loopback, a free port) that can be shut
 * down ("fast": open sessions are terminated, as on `pg_ctl restart`) and started again on the
 * same port and data directory. Separate from the run's shared cluster (test/helpers/postgres-server.ts),
 * which other test files use at the same time.
 */
export class RestartablePostgres {
  readonly url: string;
  readonly #base: string;
  readonly #dataDir: string;
  readonly #bin: string;
  readonly #port: number;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(bin: string, base: string, port: number) {
    this.#bin = bin;
    this.#base = base;
    this.#dataDir = path.join(base, 'data');
    this.#port = port;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  static async start(): Promise<RestartablePostgres> {
    const bin = findBinDir();
    const base = mkdtempSync(path.join(tmpdir(), 'th-fault-pg-'));
    if (process.getuid?.() === 0) {
      const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root needs the postgres system user (apt-get install -y postgresql)');
      chownSync(base, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
    }
    const pgDir = path.join(base, 'data');
    const [icmd, iargs] = asPostgresUser(path.join(bin, 'initdb'), ['-D', pgDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    const init = spawnSync(icmd, iargs, { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const p = new RestartablePostgres(bin, base, await freePort());
    await p.start();
    return p;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the postmaster (crash recovery from the WAL if it was killed) and waits until it accepts a session. */
  async start(): Promise<void> {
    if (this.#child) throw new Error('postgres is already running');
    const [cmd, args] = asPostgresUser(path.join(this.#bin, 'postgres'), [
      '-D', this.#dataDir, '-p', String(this.#port), '-k', this.#base, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200',
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    this.#child = child;
    this.#exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        this.#child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.#child === undefined) throw new Error(`postgres exited: ${stderr}`);
      const c = new pg.Client({ connectionString: this.url });
      c.on('error', () => undefined); // the loop retries until the deadline
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        await c.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`postgres did not start: ${stderr}`);
        await sleep(50);
      }
    }
  }

  /** Fast shutdown (SIGINT to the postmaster: sessions are terminated, a clean checkpoint is written). */
  async stopFast(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    // Signal the postmaster itself: as root the child is `runuser`, which does not pass SIGINT on.
    const pid = Number.parseInt(readFileSync(path.join(this.#dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
    if (Number.isInteger(pid) && pid > 1) process.kill(pid, 'SIGINT');
    else child.kill('SIGINT');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.#exited;
    clearTimeout(t);
  }

  async close(): Promise<void> {
    await this.stopFast();
    rmSync(this.#base, { recursive: true, force: true });
  }
}

/**
 * The environment of one deployment's processes on PostgreSQL and Redis: a fresh master key, the
 * audit signing key and data under `dataDir`, and its own Redis key prefix (the test Redis is shared).
 */
export function deploymentEnv(opts: { databaseUrl: string; redisUrl: string; dataDir: string; tag: string }): Record<string, string> {
  return {
    APP_ENV: 'development',
    DATABASE_URL: opts.databaseUrl,
    REDIS_URL: opts.redisUrl,
    REDIS_KEY_PREFIX: `${opts.tag}-${randomUUID().slice(0, 8)}:`,
    MASTER_KEY: randomBytes(32).toString('base64'),
    AUDIT_SIGNING_KEY_FILE: path.join(opts.dataDir, 'audit-ed25519.pem'),
    DATA_DIR: opts.dataDir,
    MEDIA_WORKERS: '1',
  };
}

/**
 * For a fault test file: the children it spawns (SIGKILLed) and the cleanups it registers (run
 * newest first), all undone after the file, however its test ended.
 */
export function faultTeardown(): { readonly children: Child[]; readonly cleanups: (() => Promise<unknown> | void)[] } {
  const children: Child[] = [];
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const c of children) await stopChild(c, 'SIGKILL');
    for (const c of cleanups.splice(0).reverse()) await c();
  }, 30_000);
  return { children, cleanups };
}

/** A temp directory removed by the returned function. */
export function tempDir(prefix: string): { readonly path: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  mkdirSync(dir, { recursive: true });
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

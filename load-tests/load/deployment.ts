/**
 * A throwaway all-in-one deployment on loopback for one load run, started the way an operator
 * would: a private redis-server, the first admin created with `telehealth admin create-user
 * --password-stdin` (before the server opens the PGlite data dir), then `telehealth start` with a
 * temp DATA_DIR on a port the kernel picks. Everything runs as child processes of the harness and
 * is killed when the harness exits, however it exits; the temp directory is removed on stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'cli.ts');
const READY_TIMEOUT_MS = 60_000;

export interface Deployment {
  readonly baseUrl: string;
  readonly admin: { readonly username: string; readonly password: string };
  /** Server and Redis output (read it when a run fails). */
  readonly logFile: string;
  /** Stops everything and removes the temp directory; `keepLog` leaves the log file behind. */
  stop(opts?: { readonly keepLog?: boolean }): Promise<void>;
}

const live = new Set<ChildProcess>();
/** Synchronous, so it is safe in 'exit' and signal handlers. */
export function killDeployments(): void {
  for (const child of live) child.kill('SIGKILL');
}
process.once('exit', killDeployments);

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves with the first match of `ready` in the child's output; rejects on timeout or exit. */
function waitFor(child: ChildProcess, name: string, ready: RegExp, streams: readonly NodeJS.ReadableStream[]): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`${name}: not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    const onData = (d: Buffer | string) => {
      seen = (seen + d.toString()).slice(-16_000);
      const m = ready.exec(seen);
      if (m) done(() => resolve(m));
    };
    const onExit = (code: number | null) => fail(new Error(`${name}: exited (${String(code)}) before it was ready: ${seen.slice(-2000)}`));
    const done = (then: () => void) => {
      clearTimeout(timer);
      for (const s of streams) s.off('data', onData);
      child.off('exit', onExit);
      then();
    };
    const fail = (err: Error) => done(() => reject(err));
    for (const s of streams) s.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Redis for one run: private, loopback, password, no persistence (a load run's state is thrown away). Returns its URL. */
async function startPrivateRedis(dir: string, children: ChildProcess[], log: NodeJS.WritableStream): Promise<string> {
  const port = await freePort();
  const password = randomBytes(24).toString('hex');
  const redis = track(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--requirepass', password, '--maxmemory-policy', 'noeviction'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  children.push(redis);
  const out = [redis.stdout, redis.stderr].filter((s) => s !== null);
  for (const s of out) s.pipe(log, { end: false });
  await waitFor(redis, 'redis-server', /Ready to accept connections/, out);
  return `redis://:${password}@127.0.0.1:${port}`;
}

/** The environment of the server: this one's, less settings that would point it elsewhere. */
function serverEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const { REDIS_URL: _r, DATABASE_URL: _d, CONFIG_FILE: _c, PORT: _p, DATA_DIR: _dd, ...rest } = process.env;
  return { ...rest, APP_ENV: 'development', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...extra };
}

export async function startDeployment(settings: Readonly<Record<string, string>>, progress: (line: string) => void): Promise<Deployment> {
  const root = await mkdtemp(path.join(tmpdir(), 'th-load-'));
  const dataDir = path.join(root, 'data');
  const redisDir = path.join(root, 'redis');
  await mkdir(redisDir);
  const logFile = path.join(root, 'deployment.log');
  const log = createWriteStream(logFile);
  const children: ChildProcess[] = [];
  const stop = async (opts: { readonly keepLog?: boolean } = {}) => {
    for (const c of children.reverse()) await stopChild(c, 15_000);
    await new Promise<void>((resolve) => log.end(resolve));
    if (opts.keepLog !== true) await rm(root, { recursive: true, force: true });
    else for (const dir of [dataDir, redisDir]) await rm(dir, { recursive: true, force: true });
  };

  try {
    const redisUrl = await startPrivateRedis(redisDir, children, log);
    const env = serverEnv({ DATA_DIR: dataDir, REDIS_URL: redisUrl, ...settings });

    // The first admin, from the operator's shell, before the server holds the PGlite data dir.
    const admin = { username: 'load-admin', password: `Lt-${randomBytes(18).toString('base64url')}` };
    progress('creating the first admin with `telehealth admin create-user --password-stdin`');
    const create = track(spawn(process.execPath, [CLI, 'admin', 'create-user', '--username', admin.username, '--role', 'admin', '--display-name', 'Load admin', '--password-stdin'], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
    let createOut = '';
    for (const s of [create.stdout, create.stderr]) s?.on('data', (d: Buffer) => (createOut += d.toString()));
    create.stdin?.end(`${admin.password}\n`);
    const code = await new Promise<number | null>((resolve) => create.once('exit', resolve));
    if (code !== 0) throw new Error(`admin create-user exited ${String(code)}: ${createOut.slice(-2000)}`);

    progress('starting `telehealth start` (all-in-one) on a free loopback port');
    const server = track(spawn(process.execPath, [CLI, 'start'], { env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] }));
    children.push(server);
    const serverOut = [server.stdout, server.stderr].filter((s) => s !== null);
    for (const s of serverOut) s.pipe(log, { end: false });
    const ready = await waitFor(server, 'telehealth start', /telehealth listening on (http:\/\/\S+) /, serverOut);
    const baseUrl = ready[1] ?? '';
    return { baseUrl, admin, logFile, stop };
  } catch (err) {
    await stop({ keepLog: true });
    throw new Error(`${err instanceof Error ? err.message : String(err)} (log: ${logFile})`, { cause: err });
  }
}

export interface ScaleOutDeployment {
  /** One base URL per gateway process. */
  readonly gatewayUrls: readonly string[];
  readonly admin: { readonly username: string; readonly password: string };
  readonly logFile: string;
  /** What runs, for the report (counts and roles, no secrets). */
  readonly processes: readonly string[];
  stop(opts?: { readonly keepLog?: boolean }): Promise<void>;
}

export interface ScaleOutOptions {
  readonly gateways: number;
  readonly workers: number;
  readonly workerConcurrency: number;
  /** Settings for every process. */
  readonly settings: Readonly<Record<string, string>>;
  /** Extra settings per process (e.g. a distinct sending number, to tell who sent what). */
  readonly perProcess: (role: 'gateway' | 'worker', index: number) => Readonly<Record<string, string>>;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * A scaled-out deployment on loopback: one private PostgreSQL cluster (initdb into the temp dir;
 * as root the server runs as the `postgres` system user, which PostgreSQL insists on) and one
 * private Redis shared by N `telehealth gateway` processes and M `telehealth worker`
 * processes, all with the same MASTER_KEY and audit signing key. The first gateway starts alone
 * (it runs the migrations and creates the signing key); the rest start together.
 */
export async function startScaleOutDeployment(opts: ScaleOutOptions, progress: (line: string) => void): Promise<ScaleOutDeployment> {
  const root = await mkdtemp(path.join(tmpdir(), 'th-scaleout-'));
  const redisDir = path.join(root, 'redis');
  const pgBase = path.join(root, 'pg');
  const pgData = path.join(pgBase, 'data');
  await mkdir(redisDir);
  await mkdir(pgBase);
  const logFile = path.join(root, 'deployment.log');
  const log = createWriteStream(logFile);
  // Every process's stdout and stderr are piped into this one log.
  log.setMaxListeners(0);
  const children: ChildProcess[] = [];
  const asRoot = process.getuid?.() === 0;
  const asPostgres = (cmd: string, args: readonly string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, [...args]]);
  const pipeOut = (child: ChildProcess): NodeJS.ReadableStream[] => {
    const out = [child.stdout, child.stderr].filter((s) => s !== null);
    for (const s of out) s.pipe(log, { end: false });
    return out;
  };
  let postgres: ChildProcess | undefined;
  const stopPostgres = async (): Promise<void> => {
    if (postgres === undefined || postgres.exitCode !== null || postgres.signalCode !== null) return;
    const pg = postgres;
    // Signal the postmaster itself (as root the child is `runuser`); SIGINT = "fast" shutdown.
    const pid = Number.parseInt((await readFile(path.join(pgData, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0] ?? '', 10);
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => pg.kill('SIGKILL'), 15_000);
      pg.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      if (Number.isInteger(pid) && pid > 1) process.kill(pid, 'SIGINT');
      else pg.kill('SIGINT');
    });
  };
  const stop = async (o: { readonly keepLog?: boolean } = {}) => {
    // Application processes first (they write their last audit rows), then Redis, then PostgreSQL.
    for (const c of children.reverse()) await stopChild(c, 15_000);
    await stopPostgres();
    await new Promise<void>((resolve) => log.end(resolve));
    if (o.keepLog !== true) await rm(root, { recursive: true, force: true });
    else for (const dir of [redisDir, pgBase]) await rm(dir, { recursive: true, force: true });
  };

  try {
    progress(`initdb + postgres (${PG_BIN}) in a temp dir`);
    if (asRoot) {
      // The postgres user must reach its directory: the temp root is 0700 root's by default.
      await chmod(root, 0o711);
      await runToEnd('chown', ['postgres:postgres', pgBase], {});
    }
    const [icmd, iargs] = asPostgres(path.join(PG_BIN, 'initdb'), ['-D', pgData, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await runToEnd(icmd, iargs, {});
    const pgPort = await freePort();
    // Durable defaults (fsync on): this measures the product, not a test shortcut.
    const [pcmd, pargs] = asPostgres(path.join(PG_BIN, 'postgres'), ['-D', pgData, '-p', String(pgPort), '-k', pgBase, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300']);
    postgres = track(spawn(pcmd, pargs, { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitFor(postgres, 'postgres', /database system is ready to accept connections/, pipeOut(postgres));
    const databaseUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;

    const redisUrl = await startPrivateRedis(redisDir, children, log);

    const shared = {
      ...opts.settings,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      MASTER_KEY: randomBytes(32).toString('base64'),
      AUDIT_SIGNING_KEY_FILE: path.join(root, 'keys', 'audit-ed25519.pem'),
    };
    const admin = { username: 'load-admin', password: `Lt-${randomBytes(18).toString('base64url')}` };
    progress('creating the first admin with `telehealth admin create-user --password-stdin` (runs the migrations)');
    await runToEnd(process.execPath, [CLI, 'admin', 'create-user', '--username', admin.username, '--role', 'admin', '--display-name', 'Load admin', '--password-stdin'], serverEnv({ ...shared, DATA_DIR: path.join(root, 'admin') }), `${admin.password}\n`);

    const startGateway = async (i: number): Promise<string> => {
      const env = serverEnv({ ...shared, DATA_DIR: path.join(root, `gateway-${i}`), PORT: '0', ...opts.perProcess('gateway', i) });
      const gw = track(spawn(process.execPath, [CLI, 'gateway'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
      children.push(gw);
      const ready = await waitFor(gw, `gateway ${i}`, /telehealth listening on (http:\/\/\S+) /, pipeOut(gw));
      return ready[1] ?? '';
    };
    progress(`starting ${opts.gateways} gateway processes (\`telehealth gateway\` on PostgreSQL + shared Redis)`);
    const first = await startGateway(0);
    const rest = await Promise.all(Array.from({ length: opts.gateways - 1 }, (_, i) => startGateway(i + 1)));
    const gatewayUrls = [first, ...rest];

    progress(`starting ${opts.workers} reminder worker processes (\`telehealth worker\`)`);
    await Promise.all(
      Array.from({ length: opts.workers }, async (_, i) => {
        const env = serverEnv({ ...shared, DATA_DIR: path.join(root, `worker-${i}`), PUBLIC_URL: first, ...opts.settings, ...opts.perProcess('worker', i) });
        const w = track(spawn(process.execPath, [CLI, 'worker', '--concurrency', String(opts.workerConcurrency)], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
        children.push(w);
        await waitFor(w, `worker ${i}`, /telehealth worker running/, pipeOut(w));
      }),
    );
    const processes = [
      'postgres 15 (private cluster, fsync on)',
      'redis-server (private)',
      ...gatewayUrls.map((u, i) => `gateway ${i}: telehealth gateway at ${u}`),
      ...Array.from({ length: opts.workers }, (_, i) => `worker ${i}: telehealth worker --concurrency ${opts.workerConcurrency}`),
    ];
    return { gatewayUrls, admin, logFile, processes, stop };
  } catch (err) {
    await stop({ keepLog: true });
    throw new Error(`${err instanceof Error ? err.message : String(err)} (log: ${logFile})`, { cause: err });
  }
}

/** Runs a command to completion; rejects with its output's tail unless it exits 0. */
async function runToEnd(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv | Record<string, never>, stdin?: string): Promise<void> {
  const child = track(spawn(cmd, args, { ...(Object.keys(env).length === 0 ? {} : { env }), stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] }));
  let out = '';
  for (const s of [child.stdout, child.stderr]) s?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  // A command that exits without reading its input must not crash the harness (EPIPE).
  child.stdin?.on('error', () => undefined);
  if (stdin !== undefined) child.stdin?.end(stdin);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${path.basename(cmd)} exited ${String(code)}: ${out.slice(-2000)}`);
}

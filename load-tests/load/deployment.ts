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
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
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
    // Redis: private, loopback, password, no persistence (a load run's state is thrown away).
    const redisPort = await freePort();
    const redisPassword = randomBytes(24).toString('hex');
    const redis = track(
      spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no', '--requirepass', redisPassword, '--maxmemory-policy', 'noeviction'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    children.push(redis);
    const redisOut = [redis.stdout, redis.stderr].filter((s) => s !== null);
    for (const s of redisOut) s.pipe(log, { end: false });
    await waitFor(redis, 'redis-server', /Ready to accept connections/, redisOut);
    const redisUrl = `redis://:${redisPassword}@127.0.0.1:${redisPort}`;
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

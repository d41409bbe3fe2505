/**
 * The newcomer's path, as real processes: `telehealth start` on embedded defaults (PGlite + a
 * private redis-server) serves /healthz with db and redis ok, shuts down cleanly on SIGTERM
 * (private Redis gone, system.stop audited), and `telehealth audit verify` then exits 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin', 'telehealth');

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { REDIS_URL: _r, DATABASE_URL: _d, CONFIG_FILE: _c, ...rest } = process.env;
  return { ...rest, LOG_LEVEL: 'warn', PORT: '0', ...extra };
}

function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(CLI, ['start'], { env: env({ DATA_DIR: dataDir }), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stdout?.resume();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no start within 45 s: ${err}`)), 45_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m?.[1]) {
        clearTimeout(t);
        resolve({ child, url: m[1], stderr: () => err });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

describe('telehealth start (all-in-one, embedded defaults)', () => {
  it('serves healthz with db and redis ok, refuses a second opener, and shuts down cleanly', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'th-start-'));
    dirs.push(dataDir);
    const { child, url } = await startServer(dataDir);

    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', components: { db: { status: 'ok' }, redis: { status: 'ok' } } });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string };
    expect(openapi.openapi).toMatch(/^3\.1/);

    // The CLI must not open the PGlite directory the server holds.
    const busy = spawnSync(CLI, ['audit', 'verify'], { env: env({ DATA_DIR: dataDir }), encoding: 'utf8' });
    expect(busy.status).toBe(2);
    expect(busy.stderr).toMatch(/in use by another telehealth process/);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    const stillRunning = spawnSync('pgrep', ['-f', `${dataDir}/redis/redis.conf`]);
    expect(stillRunning.status).toBe(1); // private redis-server stopped with the gateway

    const verify = spawnSync(CLI, ['audit', 'verify'], { env: env({ DATA_DIR: dataDir }), encoding: 'utf8' });
    expect(verify.stderr).toBe('');
    expect(verify.stdout).toMatch(/intact/);
    expect(verify.status).toBe(0);
    const exported = spawnSync(CLI, ['audit', 'export', '--from', '2000-01-01', '--to', '2100-01-01'], { env: env({ DATA_DIR: dataDir }), encoding: 'utf8' });
    const actions = exported.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { action: string }).action);
    expect(actions).toEqual(expect.arrayContaining(['system.start', 'system.stop']));
  }, 90_000);

  it('stops with a clear message when configuration is invalid or Redis is unreachable', () => {
    const bad = spawnSync(CLI, ['start'], { env: env({ PORT: 'http', APP_ENV: 'production' }), encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/PORT: expected a whole number/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const dataDir = mkdtempSync(path.join(tmpdir(), 'th-start-'));
    dirs.push(dataDir);
    const noRedis = spawnSync(CLI, ['start'], { env: env({ DATA_DIR: dataDir, REDIS_URL: 'redis://127.0.0.1:1' }), encoding: 'utf8', timeout: 30_000 });
    expect(noRedis.status).toBe(2);
    expect(noRedis.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    expect(noRedis.stderr).toMatch(/unset REDIS_URL/);
  });

  it('prints help for every command', () => {
    const help = spawnSync(CLI, ['--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const words of ['start', 'db migrate', 'audit verify', 'audit export', 'audit checkpoint', 'config check']) {
      expect(help.stdout).toContain(words);
      const one = spawnSync(CLI, [...words.split(' '), '--help'], { encoding: 'utf8' });
      expect(one.status, words).toBe(0);
      expect(one.stdout).toMatch(/^Usage: telehealth /);
    }
    const unknown = spawnSync(CLI, ['audit', 'verfy'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/Did you mean: .*telehealth audit verify/);
    // Eight CLI processes, each loading the whole product: slow on a busy 2-core machine.
  }, 90_000);
});

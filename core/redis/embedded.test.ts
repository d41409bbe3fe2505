import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { StartupError } from '../errors.ts';
import { connectRedis } from './connect.ts';
import { startEmbeddedRedis } from './embedded.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'emb-redis-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('private redis-server', () => {
  it('starts with AOF and a password, keeps data across restarts, and stops on close', async () => {
    const dir = tempDir();
    const a = await startEmbeddedRedis({ dir });
    expect(a.url).toMatch(/^redis:\/\/:[0-9a-f]{48}@127\.0\.0\.1:\d+$/);
    // No password, no access.
    const anon = new Redis(`redis://127.0.0.1:${a.port}`, { enableReadyCheck: false, maxRetriesPerRequest: 0 });
    const connectionErrors: Error[] = [];
    anon.on('error', (e: Error) => connectionErrors.push(e)); // the handshake's NOAUTH, asserted below via the command
    await expect(anon.get('k')).rejects.toThrow(/NOAUTH/);
    anon.disconnect();
    const c = await connectRedis(a.url);
    await c.set('kept', 'yes');
    await c.quit();
    await a.close();
    await a.close(); // idempotent
    expect(alive(a.pid)).toBe(false);
    expect(existsSync(path.join(dir, 'appendonlydir'))).toBe(true);

    const b = await startEmbeddedRedis({ dir });
    const c2 = await connectRedis(b.url);
    expect(await c2.get('kept')).toBe('yes');
    await c2.quit();
    await b.close();
  });

  it('says how to get Redis when redis-server is missing', async () => {
    const err: unknown = await startEmbeddedRedis({ dir: tempDir(), bin: '/nonexistent/redis-server' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as StartupError).message).toMatch(/REDIS_URL is unset and redis-server was not found/);
    expect((err as StartupError).hint).toMatch(/apt-get install -y redis-server.*REDIS_URL/);
  });

  it('reports an unreachable REDIS_URL clearly, without its password', async () => {
    const err: unknown = await connectRedis('redis://:topsecret@127.0.0.1:1', {}, 1500).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as StartupError).message).toMatch(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
    expect((err as StartupError).message).not.toMatch(/topsecret/);
  });
});

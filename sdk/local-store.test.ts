import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStore, STORE_FILE } from './local-store.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function dir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'sdk-store-'));
  dirs.push(d);
  return d;
}

describe('LocalStore', () => {
  it('persists state encrypted (nothing readable on disk) and reopens with the passphrase', async () => {
    const d = await dir();
    const s = await LocalStore.create(d, { passphrase: 'pass phrase one' });
    s.state.app.marker = 'findme-marker-value';
    await s.commit();
    await s.close();
    expect(await readFile(path.join(d, STORE_FILE), 'utf8')).not.toContain('findme');
    const again = await LocalStore.open(d, { passphrase: 'pass phrase one' });
    expect(again.state.app.marker).toBe('findme-marker-value');
    await again.close();
  });

  it('a wrong passphrase, a wrong raw key and an altered file fail clearly', async () => {
    const d = await dir();
    const key = randomBytes(32);
    await (await LocalStore.create(d, { rawKey: key })).close();
    await expect(LocalStore.open(d, { rawKey: randomBytes(32) })).rejects.toMatchObject({ code: 'store_locked' });
    await expect(LocalStore.open(d, { passphrase: 'x' })).rejects.toMatchObject({ code: 'store_locked' });
    const file = path.join(d, STORE_FILE);
    const body = JSON.parse(await readFile(file, 'utf8')) as { data: string };
    const data = Buffer.from(body.data, 'base64');
    data[0] = (data[0] ?? 0) ^ 1;
    await writeFile(file, JSON.stringify({ ...body, data: data.toString('base64') }));
    await expect(LocalStore.open(d, { rawKey: key })).rejects.toMatchObject({ code: 'store_locked' });
  });

  it('one process at a time: a second open is refused while the first holds the lock', async () => {
    const d = await dir();
    const s = await LocalStore.create(d, { passphrase: 'p' });
    await expect(LocalStore.open(d, { passphrase: 'p' })).rejects.toMatchObject({ code: 'store_busy' });
    await s.close();
    await s.close();
    await (await LocalStore.open(d, { passphrase: 'p' })).close();
  });

  it('a missing store is reported as such; create refuses to overwrite', async () => {
    const d = await dir();
    await expect(LocalStore.open(d, { passphrase: 'p' })).rejects.toMatchObject({ code: 'store_not_found' });
    await (await LocalStore.create(d, { passphrase: 'p' })).close();
    await expect(LocalStore.create(d, { passphrase: 'p' })).rejects.toMatchObject({ code: 'store_exists' });
  });
});

// The sealed container on its own (no database): round trip across chunk boundaries, and each way a
// file can be wrong — wrong key, damaged header, flipped, reordered, cut or extended chunks — is
// refused with the problem and the chunk number an operator can act on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSealedWriter, openSealedReader } from './container.ts';
import { BackupError } from './errors.ts';
import { generateBackupKey, parseBackupKey, formatBackupKey, type BackupKey } from './key.ts';

const CHUNK = 64;
const HEADER = 96;
const chunkStart = (n: number): number => HEADER + (5 + CHUNK + 16) * (n - 1);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'container-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function seal(key: BackupKey, plain: Buffer, parts = 7): Promise<Buffer> {
  const out: Buffer[] = [];
  const w = createSealedWriter({ write: (b) => Promise.resolve(void out.push(Buffer.from(b))) }, key, { chunkSize: CHUNK });
  const step = Math.ceil(plain.length / parts) || 1;
  for (let i = 0; i < plain.length; i += step) await w.write(plain.subarray(i, i + step));
  await w.finish();
  return Buffer.concat(out);
}

async function unseal(key: BackupKey, bytes: Buffer): Promise<Buffer> {
  const file = path.join(dir, `f-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, bytes);
  const fh = await open(file, 'r');
  try {
    const reader = await openSealedReader(fh, key, 'the file');
    const parts: Buffer[] = [];
    for await (const p of reader.chunks()) parts.push(p);
    return Buffer.concat(parts);
  } finally {
    await fh.close();
  }
}

const refusal = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'opened', (err: unknown) => err);

describe('sealed backup container', () => {
  const key = generateBackupKey();
  const plain = randomBytes(CHUNK * 5 + 17);

  it('round-trips any length, including empty and exact multiples of the chunk size', async () => {
    for (const p of [Buffer.alloc(0), randomBytes(1), randomBytes(CHUNK), randomBytes(CHUNK * 3), plain]) {
      expect((await unseal(key, await seal(key, p))).equals(p)).toBe(true);
    }
  });

  it('uses a fresh salt per backup: the same key and plaintext never give the same bytes', async () => {
    expect((await seal(key, plain)).equals(await seal(key, plain))).toBe(false);
  });

  it('tells a wrong key apart from damage', async () => {
    const sealed = await seal(key, plain);
    expect(await refusal(unseal(generateBackupKey(), sealed))).toMatchObject({ problem: 'wrong_key', message: 'the key does not open this backup (the file)' });
    const header = Buffer.from(sealed);
    header[20] = (header[20] ?? 0) ^ 1; // inside the salt
    expect(await refusal(unseal(key, header))).toMatchObject({ problem: 'header_corrupted' });
    expect(await refusal(unseal(key, Buffer.from('not a backup at all')))).toMatchObject({ problem: 'not_a_backup' });
  });

  it('names the chunk whose bytes were flipped, whether in its header, body or tag', async () => {
    const sealed = await seal(key, plain);
    for (const [n, offset] of [[1, 0], [2, 5 + 10], [4, 5 + CHUNK + 3], [6, 1]] as const) {
      const bad = Buffer.from(sealed);
      const at = chunkStart(n) + offset;
      bad[at] = (bad[at] ?? 0) ^ 0x04;
      const err = await refusal(unseal(key, bad));
      expect(err).toBeInstanceOf(BackupError);
      expect(err).toMatchObject({ problem: expect.stringMatching(/^(chunk_corrupted|truncated)$/) as unknown, chunk: n });
    }
  });

  it('refuses reordered chunks, a cut at a chunk boundary, a cut inside a chunk, and trailing bytes', async () => {
    const sealed = await seal(key, plain);
    const swapped = Buffer.from(sealed);
    sealed.copy(swapped, chunkStart(2), chunkStart(3), chunkStart(4));
    sealed.copy(swapped, chunkStart(3), chunkStart(2), chunkStart(3));
    expect(await refusal(unseal(key, swapped))).toMatchObject({ problem: 'chunk_corrupted', chunk: 2 });
    expect(await refusal(unseal(key, sealed.subarray(0, chunkStart(6))))).toMatchObject({ problem: 'truncated', message: expect.stringContaining('ends after chunk 5 without its final chunk') as unknown });
    expect(await refusal(unseal(key, sealed.subarray(0, chunkStart(3) + 40)))).toMatchObject({ problem: 'truncated', chunk: 3 });
    expect(await refusal(unseal(key, Buffer.concat([sealed, Buffer.from([0])])))).toMatchObject({ problem: 'trailing_data' });
    // A final chunk from another backup made with the same key does not fit either (per-backup salt).
    const other = await seal(key, plain);
    const spliced = Buffer.concat([sealed.subarray(0, chunkStart(6)), other.subarray(chunkStart(6))]);
    expect(await refusal(unseal(key, spliced))).toMatchObject({ problem: 'chunk_corrupted', chunk: 6 });
  });

  it('reads back the key file format and rejects anything else', () => {
    const k = generateBackupKey();
    expect(parseBackupKey(formatBackupKey(k))?.raw.equals(k.raw)).toBe(true);
    expect(parseBackupKey(randomBytes(32).toString('base64'))).toBeNull(); // a bare master key
    expect(parseBackupKey('thbk1:short')).toBeNull();
  });
});

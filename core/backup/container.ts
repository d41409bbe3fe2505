/**
 * The encrypted container of a backup (format 1). Layout:
 *
 *   header (96 bytes): "THBACKUP" | u16 format | u16 0 | salt[32] | keyCheck[16] | u32 chunkSize
 *                      | SHA-256 of the 64 bytes before it
 *   chunks:            u8 flags (1 = final) | u32 length | AES-256-GCM ciphertext[length] | tag[16]
 *
 * Every chunk is sealed under the backup's own key (HKDF from the backup key and the salt, see
 * key.ts) with nonce = 0^4 | u64 index and additional data = the whole header | u64 index | flags
 * | u32 length. So the header is authenticated by every chunk, a chunk moved to another place or
 * another backup fails, and a file cut at a chunk boundary is caught because only the last chunk
 * may carry the final flag. The header's plain SHA-256 only tells accidental damage to the header
 * apart from a wrong key; the authentication is the GCM tags. All primitives are node:crypto's.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { BackupError, BackupProblem } from './errors.ts';
import { chunkKey, keyCheck, type BackupKey } from './key.ts';

export const FORMAT_VERSION = 1;
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
/** Bounds what a damaged length field can make a reader allocate. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const MAGIC = Buffer.from('THBACKUP', 'ascii');
const HEADER_BYTES = 96;
const CHUNK_HEAD_BYTES = 5;
const TAG_BYTES = 16;
const FINAL = 1;

function nonce(index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

function aad(header: Buffer, index: number, flags: number, length: number): Buffer {
  const tail = Buffer.alloc(13);
  tail.writeBigUInt64BE(BigInt(index), 0);
  tail.writeUInt8(flags, 8);
  tail.writeUInt32BE(length, 9);
  return Buffer.concat([header, tail]);
}

function buildHeader(salt: Buffer, check: Buffer, chunkSize: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt16BE(FORMAT_VERSION, 8);
  salt.copy(h, 12);
  check.copy(h, 44);
  h.writeUInt32BE(chunkSize, 60);
  createHash('sha256').update(h.subarray(0, 64)).digest().copy(h, 64);
  return h;
}

export interface SealedSink {
  write(data: Buffer): Promise<void>;
}

export interface SealedWriter {
  /** Queue plaintext; full chunks are sealed and written as they fill. */
  write(data: Buffer | string): Promise<void>;
  /** Seal what is left as the final chunk. */
  finish(): Promise<{ readonly bytes: number; readonly chunks: number; readonly sha256: string }>;
}

export function createSealedWriter(sink: SealedSink, key: BackupKey, opts: { chunkSize?: number } = {}): SealedWriter {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new RangeError(`chunk size must be 1..${MAX_CHUNK_SIZE}`);
  const salt = randomBytes(32);
  const header = buildHeader(salt, keyCheck(key, salt), chunkSize);
  const encKey = chunkKey(key, salt);
  const fileHash: Hash = createHash('sha256');
  let bytes = 0;
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let started = false;
  let finished = false;

  const out = async (b: Buffer): Promise<void> => {
    fileHash.update(b);
    bytes += b.length;
    await sink.write(b);
  };
  const seal = async (plain: Buffer, final: boolean): Promise<void> => {
    if (!started) {
      started = true;
      await out(header);
    }
    const flags = final ? FINAL : 0;
    const head = Buffer.alloc(CHUNK_HEAD_BYTES);
    head.writeUInt8(flags, 0);
    head.writeUInt32BE(plain.length, 1);
    const cipher = createCipheriv('aes-256-gcm', encKey, nonce(index), { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(header, index, flags, plain.length));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    await out(Buffer.concat([head, body, cipher.getAuthTag()]));
    index += 1;
  };

  return {
    async write(data) {
      if (finished) throw new Error('sealed writer already finished');
      const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      if (b.length === 0) return;
      pending.push(b);
      pendingBytes += b.length;
      if (pendingBytes < chunkSize) return;
      let all = Buffer.concat(pending);
      while (all.length >= chunkSize) {
        await seal(all.subarray(0, chunkSize), false);
        all = all.subarray(chunkSize);
      }
      pending = all.length > 0 ? [Buffer.from(all)] : [];
      pendingBytes = all.length;
    },
    async finish() {
      if (finished) throw new Error('sealed writer already finished');
      finished = true;
      await seal(Buffer.concat(pending), true);
      pending = [];
      return { bytes, chunks: index, sha256: fileHash.digest('hex') };
    },
  };
}

export interface SealedReader {
  /** Decrypted plaintext, chunk by chunk; throws BackupError on the first chunk that fails. */
  chunks(): AsyncGenerator<Buffer>;
  /** SHA-256 of every byte read so far (the whole file once chunks() has finished). */
  sha256(): string;
}

async function readAt(fh: FileHandle, pos: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** Checks the header and the key (no decryption yet); the caller owns and closes `fh`. */
export async function openSealedReader(fh: FileHandle, key: BackupKey, label: string): Promise<SealedReader> {
  const header = await readAt(fh, 0, HEADER_BYTES);
  if (header.length < MAGIC.length + 2 || !header.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new BackupError(BackupProblem.notABackup, `${label} is not a telehealth backup`, { hint: 'Pass the file written by `telehealth backup create` as --in.' });
  }
  const version = header.readUInt16BE(8);
  if (version !== FORMAT_VERSION) {
    throw new BackupError(BackupProblem.unsupportedFormat, `${label} is backup format ${version}; this build reads format ${FORMAT_VERSION}`, {
      hint: version > FORMAT_VERSION ? 'Restore it with the build (or a newer one) that wrote it.' : undefined,
    });
  }
  if (header.length < HEADER_BYTES) throw new BackupError(BackupProblem.truncated, `${label} ends inside its header (${header.length} of ${HEADER_BYTES} bytes)`);
  if (!createHash('sha256').update(header.subarray(0, 64)).digest().equals(header.subarray(64))) {
    throw new BackupError(BackupProblem.headerCorrupted, `the header of ${label} is damaged (checksum mismatch)`, { hint: 'Use another copy of this backup.' });
  }
  const salt = header.subarray(12, 44);
  if (!timingSafeEqual(keyCheck(key, salt), header.subarray(44, 60))) {
    throw new BackupError(BackupProblem.wrongKey, `the key does not open this backup (${label})`, {
      hint: 'Pass the --key-file that was written (or given) when this backup was created.',
    });
  }
  const chunkSize = header.readUInt32BE(60);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new BackupError(BackupProblem.headerCorrupted, `the header of ${label} names an impossible chunk size`);
  const encKey = chunkKey(key, salt);
  const { size } = await fh.stat();
  const fileHash = createHash('sha256').update(header);

  async function* chunks(): AsyncGenerator<Buffer> {
    let pos = HEADER_BYTES;
    for (let index = 0; ; index++) {
      const n = index + 1; // chunks are numbered from 1 in messages
      const where = `chunk ${n} (byte offset ${pos})`;
      const head = await readAt(fh, pos, CHUNK_HEAD_BYTES);
      if (head.length === 0) {
        throw new BackupError(BackupProblem.truncated, `${label} is truncated: it ends after chunk ${index} without its final chunk`, { chunk: n, hint: 'Use a complete copy of this backup.' });
      }
      if (head.length < CHUNK_HEAD_BYTES) throw new BackupError(BackupProblem.truncated, `${label} is truncated inside ${where}`, { chunk: n, hint: 'Use a complete copy of this backup.' });
      const flags = head.readUInt8(0);
      const length = head.readUInt32BE(1);
      if ((flags !== 0 && flags !== FINAL) || length > chunkSize || (flags === 0 && length !== chunkSize)) {
        throw new BackupError(BackupProblem.chunkCorrupted, `${where} of ${label} is corrupted (bad chunk header)`, { chunk: n, hint: 'Use another copy of this backup.' });
      }
      const body = await readAt(fh, pos + CHUNK_HEAD_BYTES, length + TAG_BYTES);
      if (body.length < length + TAG_BYTES) throw new BackupError(BackupProblem.truncated, `${label} is truncated inside ${where}`, { chunk: n, hint: 'Use a complete copy of this backup.' });
      fileHash.update(head).update(body);
      let plain: Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', encKey, nonce(index), { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(header, index, flags, length));
        decipher.setAuthTag(body.subarray(length));
        plain = Buffer.concat([decipher.update(body.subarray(0, length)), decipher.final()]);
      } catch (err) {
        throw new BackupError(BackupProblem.chunkCorrupted, `${where} of ${label} is corrupted: it fails authentication`, { chunk: n, cause: err, hint: 'Use another copy of this backup.' });
      }
      pos += CHUNK_HEAD_BYTES + length + TAG_BYTES;
      if (flags === FINAL && pos !== size) {
        throw new BackupError(BackupProblem.trailingData, `${label} has ${size - pos} unexpected byte(s) after its final chunk ${n}`, { chunk: n, hint: 'Use another copy of this backup.' });
      }
      yield plain;
      if (flags === FINAL) return;
    }
  }

  return { chunks, sha256: () => fileHash.copy().digest('hex') };
}

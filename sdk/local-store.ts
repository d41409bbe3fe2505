/**
 * The device's durable local state — identity, prekeys, libsignal sessions, peers' identity keys,
 * processed envelope ids, recent message history and app settings — encrypted at rest with
 * AES-256-GCM (node:crypto). The key comes from the user's passphrase via scrypt with a random
 * salt kept in the file's header, or is a raw 32-byte key the caller holds. The header is
 * authenticated as AAD, so it cannot be swapped. Every commit rewrites the whole file atomically
 * (temp file, fsync, rename): a crash leaves the old state or the new one, never a mix.
 *
 * One process at a time: a lock file (with the holder's pid) keeps a second process (e.g.
 * `chat send` while `chat listen` runs) from overwriting the sessions the first one advances.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { SdkError, SdkErrorCode } from './errors.ts';

export const STORE_FILE = 'store.enc';
const LOCK_FILE = 'store.lock';
const FORMAT = 'telehealth-sdk-store';
const SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;

export type StoreKey = { readonly passphrase: string } | { readonly rawKey: Uint8Array };

const Kdf = z.discriminatedUnion('alg', [
  z.strictObject({ alg: z.literal('scrypt'), salt: z.base64(), N: z.number().int(), r: z.number().int(), p: z.number().int() }),
  z.strictObject({ alg: z.literal('raw') }),
]);
type Kdf = z.infer<typeof Kdf>;
const Header = z.strictObject({ format: z.literal(FORMAT), version: z.literal(1), kdf: Kdf });
const FileShape = z.strictObject({ header: Header, iv: z.base64(), tag: z.base64(), data: z.base64() });

const HistoryEntry = z.strictObject({
  envelopeId: z.string(),
  direction: z.enum(['in', 'out']),
  peerUserId: z.string(),
  peerDevice: z.number().int(),
  clientId: z.string(),
  sentAt: z.number(),
  text: z.string(),
  serverTs: z.string().nullable(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

const StoreState = z.strictObject({
  version: z.literal(1),
  local: z
    .strictObject({ userId: z.string(), deviceId: z.number().int().nullable(), registrationId: z.number().int(), identityKeyPair: z.base64() })
    .nullable(),
  counters: z.strictObject({ preKeyId: z.number().int(), kyberPreKeyId: z.number().int(), signedPreKeyId: z.number().int() }),
  preKeys: z.record(z.string(), z.base64()),
  signedPreKeys: z.record(z.string(), z.base64()),
  kyberPreKeys: z.record(z.string(), z.strictObject({ record: z.base64(), lastResort: z.boolean() })),
  /** (kyberId:signedPreKeyId:baseKey) already used with a last-resort Kyber key: replays are refused. */
  lastResortUses: z.record(z.string(), z.number()),
  sessions: z.record(z.string(), z.base64()),
  identities: z.record(z.string(), z.strictObject({ key: z.base64(), verified: z.boolean(), firstSeen: z.number() })),
  /** Envelope id → when it was processed (ms), for de-duplication of redeliveries. */
  processed: z.record(z.string(), z.number()),
  history: z.array(HistoryEntry),
  app: z.record(z.string(), z.unknown()),
});
export type StoreState = z.infer<typeof StoreState>;

/** Bounds on what grows without limit otherwise. */
export const STORE_LIMITS = { processed: 20_000, history: 2_000 } as const;

function emptyState(): StoreState {
  return {
    version: 1,
    local: null,
    counters: { preKeyId: 1, kyberPreKeyId: 1, signedPreKeyId: 1 },
    preKeys: {},
    signedPreKeys: {},
    kyberPreKeys: {},
    lastResortUses: {},
    sessions: {},
    identities: {},
    processed: {},
    history: [],
    app: {},
  };
}

function scrypt(passphrase: string, salt: Buffer, opts: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(passphrase.normalize('NFC'), salt, 32, { ...opts, maxmem: 128 * opts.N * opts.r * 2 } satisfies ScryptOptions, (err, key) => (err ? reject(err) : resolve(key))));
}

async function deriveKey(key: StoreKey, kdf: Kdf): Promise<Buffer> {
  if (kdf.alg === 'raw') {
    if (!('rawKey' in key)) throw new SdkError(SdkErrorCode.storeLocked, 'this store is encrypted with a raw key, not a passphrase');
    if (key.rawKey.length !== 32) throw new SdkError(SdkErrorCode.storeLocked, 'the raw store key must be 32 bytes');
    return Buffer.from(key.rawKey);
  }
  if (!('passphrase' in key)) throw new SdkError(SdkErrorCode.storeLocked, 'this store is encrypted with a passphrase, not a raw key');
  return scrypt(key.passphrase, Buffer.from(kdf.salt, 'base64'), { N: kdf.N, r: kdf.r, p: kdf.p });
}

function newKdf(key: StoreKey): Kdf {
  return 'rawKey' in key ? { alg: 'raw' } : { alg: 'scrypt', salt: randomBytes(16).toString('base64'), ...SCRYPT };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireLock(dir: string): Promise<string> {
  const lockPath = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockPath, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return lockPath;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch((e: unknown) => { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ''; throw e; }), 10);
      if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) {
        throw new SdkError(SdkErrorCode.storeBusy, `the local store in ${dir} is in use by process ${holder}; stop it first`);
      }
      // The holder died without cleaning up: take the lock over.
      await rm(lockPath, { force: true });
    }
  }
  throw new SdkError(SdkErrorCode.storeBusy, `the local store in ${dir} is locked`);
}

export class LocalStore {
  readonly dir: string;
  readonly #file: string;
  readonly #lockPath: string;
  readonly #header: z.infer<typeof Header>;
  readonly #key: Buffer;
  #state: StoreState;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(dir: string, lockPath: string, header: z.infer<typeof Header>, key: Buffer, state: StoreState) {
    this.dir = dir;
    this.#file = path.join(dir, STORE_FILE);
    this.#lockPath = lockPath;
    this.#header = header;
    this.#key = key;
    this.#state = state;
  }

  /** Open the store in `dir`, creating it (and the directory, mode 0700) when absent. */
  static async openOrCreate(dir: string, key: StoreKey): Promise<LocalStore> {
    try {
      return await LocalStore.open(dir, key);
    } catch (err) {
      if (err instanceof SdkError && err.code === SdkErrorCode.storeNotFound) return LocalStore.create(dir, key);
      throw err;
    }
  }

  static async create(dir: string, key: StoreKey): Promise<LocalStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lock = await acquireLock(dir);
    try {
      const exists = await readFile(path.join(dir, STORE_FILE)).then(
        () => true,
        (e: unknown) => {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
          throw e;
        },
      );
      if (exists) throw new SdkError(SdkErrorCode.storeExists, `a local store already exists in ${dir}`);
      const header = { format: FORMAT, version: 1, kdf: newKdf(key) } as const;
      const store = new LocalStore(dir, lock, header, await deriveKey(key, header.kdf), emptyState());
      await store.commit();
      return store;
    } catch (err) {
      await rm(lock, { force: true });
      throw err;
    }
  }

  static async open(dir: string, key: StoreKey): Promise<LocalStore> {
    let raw: string;
    try {
      raw = await readFile(path.join(dir, STORE_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SdkError(SdkErrorCode.storeNotFound, `no local store in ${dir}`);
      throw err;
    }
    const lock = await acquireLock(dir);
    try {
      let file: z.infer<typeof FileShape>;
      try {
        file = FileShape.parse(JSON.parse(raw));
      } catch (err) {
        throw new SdkError(SdkErrorCode.storeCorrupt, `the local store in ${dir} is not readable`, { cause: err });
      }
      const aesKey = await deriveKey(key, file.header.kdf);
      let plain: Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', aesKey, Buffer.from(file.iv, 'base64'));
        decipher.setAAD(Buffer.from(JSON.stringify(file.header)));
        decipher.setAuthTag(Buffer.from(file.tag, 'base64'));
        plain = Buffer.concat([decipher.update(Buffer.from(file.data, 'base64')), decipher.final()]);
      } catch (err) {
        throw new SdkError(SdkErrorCode.storeLocked, 'cannot unlock the local store: wrong passphrase or key (or the file was altered)', { cause: err });
      }
      const state = StoreState.safeParse(JSON.parse(plain.toString('utf8')));
      if (!state.success) throw new SdkError(SdkErrorCode.storeCorrupt, 'the local store has an unknown layout', { cause: state.error });
      return new LocalStore(dir, lock, file.header, aesKey, state.data);
    } catch (err) {
      await rm(lock, { force: true });
      throw err;
    }
  }

  /** The in-memory state; mutate it, then `commit()` to make the change durable. */
  get state(): StoreState {
    if (this.#closed) throw new SdkError(SdkErrorCode.storeClosed, 'the local store is closed');
    return this.#state;
  }

  /** Persist the current state atomically. Commits run one after another, in call order. */
  commit(): Promise<void> {
    if (this.#closed) return Promise.reject(new SdkError(SdkErrorCode.storeClosed, 'the local store is closed'));
    const next = this.#writing.then(() => this.#write());
    // The chain continues after a failed write; the caller of that commit sees the failure.
    this.#writing = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  async #write(): Promise<void> {
    this.#trim();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(JSON.stringify(this.#header)));
    const data = Buffer.concat([cipher.update(JSON.stringify(this.#state), 'utf8'), cipher.final()]);
    const body = JSON.stringify({ header: this.#header, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') });
    const tmp = `${this.#file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.#file);
  }

  #trim(): void {
    const s = this.#state;
    const ids = Object.entries(s.processed);
    if (ids.length > STORE_LIMITS.processed) {
      ids.sort((a, b) => a[1] - b[1]);
      for (const [id] of ids.slice(0, ids.length - STORE_LIMITS.processed)) delete s.processed[id];
    }
    if (s.history.length > STORE_LIMITS.history) s.history.splice(0, s.history.length - STORE_LIMITS.history);
  }

  /** Waits for pending commits, then releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#writing;
    } finally {
      await rm(this.#lockPath, { force: true });
    }
  }
}

/**
 * Client-encrypted attachment bytes, fetched by an unguessable random id until they expire. The
 * decryption key and digest travel inside the end-to-end-encrypted message that references the
 * attachment, so the server stores bytes it cannot read.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../core/db/types.ts';
import { isUuid } from '../../core/ids.ts';

export interface StoredAttachment {
  readonly id: string;
  readonly size: number;
  readonly expiresAt: Date;
}

export interface AttachmentStore {
  create(ownerUser: string, bytes: Buffer, expiresAt: Date): Promise<StoredAttachment>;
  /** The bytes, or null when unknown or expired (expired rows wait for the purge job). */
  get(id: string, now?: Date): Promise<Buffer | null>;
}

export function createAttachmentStore(db: Db): AttachmentStore {
  return {
    async create(ownerUser, bytes, expiresAt) {
      const id = randomUUID();
      await db.query('INSERT INTO attachments (id, owner_user, size, bytes, expires_at) VALUES ($1, $2, $3, $4, $5)', [id, ownerUser, bytes.length, bytes, expiresAt]);
      return { id, size: bytes.length, expiresAt };
    },
    async get(id, now = new Date()) {
      if (!isUuid(id)) return null;
      const [row] = await db.query<{ bytes: Buffer }>('SELECT bytes FROM attachments WHERE id = $1 AND expires_at > $2', [id, now]);
      return row?.bytes ?? null;
    },
  };
}

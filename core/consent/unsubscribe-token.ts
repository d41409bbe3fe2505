/**
 * One-click unsubscribe tokens (RFC 8058) for reminder e-mails: `<payload>.<mac>`, both base64url.
 * The payload names the patient (opaque id), purpose, channel, optional campaign, an expiry and a
 * random nonce — never the address. The MAC is HMAC-SHA256 under a key derived from the master
 * key for this one purpose, compared with timingSafeEqual. Lives in core so the delivery worker
 * can sign the List-Unsubscribe URL and the gateway can verify it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { MasterKeyring } from '../crypto/keyring.ts';
import { deriveKeys, KeyPurpose, type DerivedKey } from './derived-keys.ts';
import { ConsentChannel, purposeSchema, type ConsentPurpose } from './vocab.ts';

export interface UnsubscribeClaims {
  readonly patientId: string;
  readonly purpose: ConsentPurpose;
  readonly channel: typeof ConsentChannel.email;
  readonly campaignId?: string;
}

export interface VerifiedUnsubscribe extends UnsubscribeClaims {
  readonly expiresAt: Date;
  /** Random per token: with the campaign id it is the consent record's evidence reference. */
  readonly nonce: string;
}

export const UNSUBSCRIBE_TTL_SEC = 60 * 86_400;
/** Longer than any token we sign; anything bigger is refused before it is parsed. */
export const MAX_TOKEN_LENGTH = 512;

const DOMAIN = 'unsubscribe.v1.';

const PayloadSchema = z.strictObject({
  t: z.literal('unsub'),
  p: z.uuid(),
  u: purposeSchema,
  c: z.literal(ConsentChannel.email),
  k: z.uuid().optional(),
  e: z.number().int().positive(),
  n: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
});

/** The unsubscribe keys of a keyring: the current one signs, all of them verify (a rotation keeps old links working). */
export function unsubscribeKeys(keyring: MasterKeyring): readonly DerivedKey[] {
  return deriveKeys(keyring, KeyPurpose.unsubscribeLink);
}

const mac = (key: DerivedKey, payload: string): Buffer => createHmac('sha256', key.key).update(DOMAIN + payload, 'utf8').digest();

export function signUnsubscribeToken(claims: UnsubscribeClaims, key: DerivedKey, opts: { now?: Date; ttlSec?: number } = {}): string {
  const now = opts.now ?? new Date();
  const payload = PayloadSchema.parse({
    t: 'unsub',
    p: claims.patientId.toLowerCase(),
    u: claims.purpose,
    c: claims.channel,
    ...(claims.campaignId === undefined ? {} : { k: claims.campaignId.toLowerCase() }),
    e: Math.floor(now.getTime() / 1000) + (opts.ttlSec ?? UNSUBSCRIBE_TTL_SEC),
    n: randomBytes(16).toString('base64url'),
  });
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${encoded}.${mac(key, encoded).toString('base64url')}`;
}

/** The claims of an authentic, unexpired token, else null (malformed, forged, tampered or expired alike). */
export function verifyUnsubscribeToken(token: string, keys: readonly DerivedKey[], now: Date = new Date()): VerifiedUnsubscribe | null {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (m === null) return null;
  const [, encoded = '', sent = ''] = m;
  const given = Buffer.from(sent, 'base64url');
  // Only the canonical encoding: the last character's spare bits must not make a second valid spelling.
  if (given.toString('base64url') !== sent) return null;
  if (!keys.some((k) => timingSafeEqual(mac(k, encoded), given))) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    // Authentic but unparsable cannot happen with our signer; treat like any bad token.
    return null;
  }
  const r = PayloadSchema.safeParse(json);
  if (!r.success) return null;
  const p = r.data;
  if (p.e * 1000 <= now.getTime()) return null;
  return {
    patientId: p.p,
    purpose: p.u,
    channel: p.c,
    ...(p.k === undefined ? {} : { campaignId: p.k }),
    expiresAt: new Date(p.e * 1000),
    nonce: p.n,
  };
}

/** The evidence reference a consent record keeps for an unsubscribe through this token. */
export function unsubscribeEvidence(v: VerifiedUnsubscribe): string {
  return v.campaignId === undefined ? `unsubscribe:${v.nonce}` : `unsubscribe:${v.nonce}:campaign:${v.campaignId}`;
}

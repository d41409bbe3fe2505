/**
 * Unsubscribe tokens: round-trip, expiry, tampering, foreign keys, key rotation, and no address inside.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMasterKeyring, generateMasterKey } from '../crypto/index.ts';
import { deriveKeys, KeyPurpose } from './derived-keys.ts';
import { signUnsubscribeToken, unsubscribeEvidence, unsubscribeKeys, verifyUnsubscribeToken } from './unsubscribe-token.ts';
import { EVIDENCE_REF_RE } from './vocab.ts';

describe('unsubscribe tokens', () => {
  const keyring = createMasterKeyring(generateMasterKey());
  const keys = unsubscribeKeys(keyring);
  const [key] = keys;
  if (key === undefined) throw new Error('no key');
  const patientId = randomUUID();
  const campaignId = randomUUID();
  const now = new Date('2030-01-01T00:00:00Z');

  it('verifies its own tokens until they expire', () => {
    const token = signUnsubscribeToken({ patientId, purpose: 'appointment_reminders', channel: 'email', campaignId }, key, { now });
    expect(token.length).toBeLessThan(400);
    const v = verifyUnsubscribeToken(token, keys, new Date(now.getTime() + 59 * 86_400_000));
    expect(v).toMatchObject({ patientId, purpose: 'appointment_reminders', channel: 'email', campaignId });
    expect(v === null ? '' : unsubscribeEvidence(v)).toMatch(EVIDENCE_REF_RE);
    expect(verifyUnsubscribeToken(token, keys, new Date(now.getTime() + 60 * 86_400_000))).toBeNull();
    // Two tokens for the same claims differ (nonce), so each is its own evidence.
    expect(signUnsubscribeToken({ patientId, purpose: 'appointment_reminders', channel: 'email' }, key, { now })).not.toBe(
      signUnsubscribeToken({ patientId, purpose: 'appointment_reminders', channel: 'email' }, key, { now }),
    );
  });

  it('refuses tampered, foreign-key, other-purpose-key and malformed tokens', () => {
    const token = signUnsubscribeToken({ patientId, purpose: 'general_outreach', channel: 'email' }, key, { now });
    const [payload = '', mac = ''] = token.split('.');
    const json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...json, p: randomUUID() })).toString('base64url');
    expect(verifyUnsubscribeToken(`${forged}.${mac}`, keys, now)).toBeNull();
    expect(verifyUnsubscribeToken(`${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`, keys, now)).toBeNull();
    expect(verifyUnsubscribeToken(token, unsubscribeKeys(createMasterKeyring(generateMasterKey())), now)).toBeNull();
    // The contact-index key of the same master key is not an unsubscribe key.
    expect(verifyUnsubscribeToken(token, deriveKeys(keyring, KeyPurpose.contactIndex), now)).toBeNull();
    // Same MAC bytes, different spelling (the spare low bits of the last character).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${payload}.${mac.slice(0, -1)}${alphabet[alphabet.indexOf(mac.at(-1) ?? 'A') + 1] ?? ''}`;
    expect(Buffer.from(respelled.split('.')[1] ?? '', 'base64url').equals(Buffer.from(mac, 'base64url'))).toBe(true);
    expect(verifyUnsubscribeToken(respelled, keys, now)).toBeNull();
    for (const bad of ['', 'x', `${payload}.`, `${token}.x`, 'a'.repeat(600)]) expect(verifyUnsubscribeToken(bad, keys, now)).toBeNull();
    expect(Buffer.from(payload, 'base64url').toString('utf8')).not.toContain('@');
  });

  it('keeps verifying tokens signed under a rotated-out master key', () => {
    const old = generateMasterKey();
    const [oldKey] = unsubscribeKeys(createMasterKeyring(old));
    if (oldKey === undefined) throw new Error('no key');
    const token = signUnsubscribeToken({ patientId, purpose: 'general_outreach', channel: 'email' }, oldKey, { now });
    expect(verifyUnsubscribeToken(token, unsubscribeKeys(createMasterKeyring(generateMasterKey(), [old])), now)).not.toBeNull();
  });
});

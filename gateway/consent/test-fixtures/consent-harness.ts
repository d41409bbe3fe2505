/**
 * Test support for the consent route tests: the identity harness (real app, real Redis, a real
 * database of the given engine) with the consent, Twilio webhook and unsubscribe modules mounted,
 * plus the ledger, the contact index and unsubscribe keys they use. Not a test file.
 */
import { afterEach, beforeEach, inject } from 'vitest';
import { createConsentLedger, createContactIndex, unsubscribeKeys, type ConsentLedger, type ContactIndex, type DerivedKey } from '../../../core/consent/index.ts';
import { createMasterKeyring, generateMasterKey } from '../../../core/crypto/index.ts';
import type { DbKind } from '../../../core/db/types.ts';
import { connectRedis, type Redis } from '../../../core/redis/connect.ts';
import { openTestDb, type TestDb } from '../../../test/helpers/databases.ts';
import { identityHarness } from '../../testing/identity-harness.ts';
import { consentRoutes } from '../consent-routes.ts';
import { TWILIO_SMS_PATH, twilioWebhookRoutes } from '../twilio-webhook.ts';
import { unsubscribeRoutes } from '../unsubscribe.ts';

export const TWILIO_AUTH_TOKEN = 'test-twilio-auth-token-0123456789';
export const WEBHOOK_URL = `https://clinic.example${TWILIO_SMS_PATH}`;
export const CLINIC_NAME = 'Riverside Clinic';

export type ConsentHarness = ReturnType<typeof identityHarness> & {
  readonly t: TestDb;
  readonly db: TestDb['db'];
  readonly ledger: ConsentLedger;
  readonly contacts: ContactIndex;
  readonly keys: readonly DerivedKey[];
};

export interface ConsentHarnessOptions {
  readonly confirmKeywords?: boolean;
  readonly now?: () => Date;
}

/** Registers beforeEach/afterEach; returns a getter for the current test's harness. */
export function consentPerTest(kind: DbKind, opts: ConsentHarnessOptions = {}): () => ConsentHarness {
  let current: { h: ConsentHarness; redis: Redis } | undefined;
  beforeEach(async () => {
    const t = await openTestDb(kind);
    const redis = await connectRedis(inject('redisUrl'));
    const keyring = createMasterKeyring(generateMasterKey());
    const contacts = createContactIndex({ db: t.db, keyring });
    const keys = unsubscribeKeys(keyring);
    let ledger: ConsentLedger | undefined;
    const h = identityHarness({
      db: t.db,
      redis,
      routes: (identity, { audit }) => {
        const l = createConsentLedger({ db: t.db, audit });
        ledger = l;
        return [
          consentRoutes({ ledger: l, sessionMw: identity.sessionMw, access: identity.access }),
          twilioWebhookRoutes({ ledger: l, contacts, audit, authToken: TWILIO_AUTH_TOKEN, webhookUrl: WEBHOOK_URL, clinicName: CLINIC_NAME, ...(opts.confirmKeywords === undefined ? {} : { confirmKeywords: opts.confirmKeywords }) }),
          unsubscribeRoutes({ ledger: l, keys, clinicName: CLINIC_NAME, ...(opts.now === undefined ? {} : { now: opts.now }) }),
        ];
      },
    });
    if (ledger === undefined) throw new Error('consent routes were not built');
    current = { h: { ...h, t, db: t.db, ledger, contacts, keys }, redis };
  });
  afterEach(async () => {
    if (current === undefined) return;
    const { h, redis } = current;
    current = undefined;
    await h.close();
    redis.disconnect();
    await h.t.dispose();
  });
  return () => {
    if (current === undefined) throw new Error('consent harness used outside a test');
    return current.h;
  };
}

/**
 * For browser tests of the staff consoles (/console/): a real gateway (PGlite, the test Redis)
 * serving the built web client, staff accounts made directly in the identity layer (no MFA yet,
 * so the first browser sign-in goes through authenticator enrollment), a bearer session per
 * account for API-side setup and checks, and a sign-in through the page itself that computes the
 * TOTP from the secret the page shows (and waits for a fresh 30-second window when a code was
 * already used, because the gateway refuses a replayed code).
 */
import { randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { inject } from 'vitest';
import { createMasterKeyring, generateMasterKey, type MasterKeyring } from '../../core/crypto/index.ts';
import type { Db } from '../../core/db/types.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { hashPassword } from '../../gateway/auth/password.ts';
import type { Identity } from '../../gateway/identity.ts';
import { testConfig } from '../../gateway/testing/harness.ts';
import { STAFF_PASSWORD } from '../../gateway/testing/identity-harness.ts';
import type { MediaService } from '../../media/index.ts';
import { buildWebClient } from './browser.ts';
import { openTestDb } from './databases.ts';
import { startTestGateway, type TestGateway } from './messaging.ts';

export type StaffRole = 'provider' | 'scheduler' | 'admin' | 'auditor' | 'privacy_officer';

export interface StaffAccount {
  readonly id: string;
  readonly username: string;
  readonly password: string;
  readonly role: StaffRole;
  /** A bearer session for setup and checks over the API (not the browser's session). */
  readonly token: string;
  /** Set by the first browser sign-in (enrollment). */
  totpSecret: string | undefined;
  /** The last TOTP code used, so a second sign-in in the same window waits for a new one. */
  lastCode: string | undefined;
}

export interface ConsoleWorld {
  readonly url: string;
  readonly db: Db;
  readonly redis: Redis;
  readonly gateway: TestGateway;
  readonly identity: Identity;
  readonly keyring: MasterKeyring;
  staff(role: StaffRole, name?: string): Promise<StaffAccount>;
  close(): Promise<void>;
}

const STAFF_HASH = hashPassword(STAFF_PASSWORD);

export async function startConsoleWorld(opts: { env?: Record<string, string>; media?: MediaService; bullPrefix?: string } = {}): Promise<ConsoleWorld> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    const webDistDir = await buildWebClient();
    const t = await openTestDb('pglite');
    cleanups.push(() => t.dispose());
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const keyring = createMasterKeyring(generateMasterKey());
    const config = testConfig({ CLINIC_NAME: 'Riverside Health', ...opts.env });
    const gateway = await startTestGateway({
      db: t.db,
      redis,
      config,
      keyPrefix: `test-${randomUUID()}:`,
      keyring,
      webDistDir,
      ...(opts.media === undefined ? {} : { media: opts.media }),
      ...(opts.bullPrefix === undefined ? {} : { bullPrefix: opts.bullPrefix }),
    });
    cleanups.push(() => gateway.close());
    const identity = gateway.features.identity;
    return {
      url: gateway.url,
      db: t.db,
      redis,
      gateway,
      identity,
      keyring,
      async staff(role, name) {
        const username = `${name ?? role.replace('_', '-')}-${randomUUID().slice(0, 6)}`;
        const user = await identity.users.createStaff({ username, displayName: `Test ${role}`, role, passwordHash: await STAFF_HASH, createdBy: null });
        const { token } = await identity.sessions.create({ kind: 'staff', userId: user.id, role, patientId: null, scope: null, appointmentId: null });
        return { id: user.id, username, password: STAFF_PASSWORD, role, token, totpSecret: undefined, lastCode: undefined };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A TOTP code for the account that it has not used yet (waits for the next 30 s step if needed). */
export async function freshCode(account: StaffAccount): Promise<string> {
  const secret = account.totpSecret;
  if (secret === undefined) throw new Error(`${account.username} has not enrolled an authenticator`);
  for (;;) {
    const code = await generate({ secret });
    if (code !== account.lastCode) {
      account.lastCode = code;
      return code;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/**
 * Signs in through the console page: password, then enrollment (first time: reads the key the
 * page shows, confirms a code, saves the recovery codes) or the authenticator code. Returns when
 * the console shows the role's sections, with the recovery codes shown at enrollment (if any).
 */
export async function signInConsole(page: Page, url: string, account: StaffAccount): Promise<string[] | undefined> {
  await page.goto(`${url}/console/`);
  await page.getByTestId('username').fill(account.username);
  await page.getByTestId('password').fill(account.password);
  await page.getByTestId('sign-in').click();
  const next = await Promise.race([
    page.getByTestId('enroll-secret').waitFor().then(() => 'enroll' as const),
    page.getByTestId('code').waitFor().then(() => 'code' as const),
  ]);
  let codes: string[] | undefined;
  if (next === 'enroll') {
    account.totpSecret = ((await page.getByTestId('enroll-secret').textContent()) ?? '').trim();
    await page.getByTestId('enroll-code').fill(await freshCode(account));
    await page.getByTestId('enroll-confirm').click();
    await page.getByTestId('recovery-codes').waitFor();
    codes = (await page.getByTestId('recovery-codes').locator('code').allTextContents()).map((c) => c.trim());
    await page.getByTestId('codes-saved').check();
    await page.getByTestId('codes-done').click();
  } else {
    await page.getByTestId('code').fill(await freshCode(account));
    await page.getByTestId('verify').click();
  }
  await page.getByTestId('role').waitFor();
  return codes;
}

/**
 * Staff sign-in (HIPAA 164.312(d)): password, then a mandatory TOTP second factor (enrolled on
 * first sign-in), with recovery codes as the fallback. Every attempt ends in an audit record.
 * Unknown user, wrong password and disabled account fail identically (same error, same argon2
 * cost); failures at either step count toward the account and address throttles, and only a
 * completed sign-in clears the account's counter, so a known password does not buy unlimited
 * TOTP guesses. The caller (the login routes) turns a success into a session.
 */
import { isIP } from 'node:net';
import { ActorType, AuditAction, AuditOutcome, type AuditDetails, type AuditLog } from '../../core/audit/index.ts';
import { totpSecretAad, type MasterSealer } from '../../core/crypto/index.ts';
import type { Db, Sql } from '../../core/db/types.ts';
import { AppError } from '../../core/errors.ts';
import type { StaffRole } from '../../core/identity/principal.ts';
import type { StaffCredentials, UserStore } from '../../core/identity/user-store.ts';
import { ChallengeStage, type ChallengeStore } from './login-challenge.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { dummyVerify, hashPassword, needsRehash, verifyPassword } from './password.ts';
import { generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.ts';
import { generateSecret, otpauthUri, verifyTotp } from './totp.ts';

/** Error codes clients see from sign-in. */
export const StaffLoginError = {
  invalidCredentials: 'invalid_credentials',
  tooManyAttempts: 'too_many_attempts',
  challengeInvalid: 'challenge_invalid',
  invalidCode: 'invalid_code',
  mfaNotEnrolled: 'mfa_not_enrolled',
} as const;
export type StaffLoginError = (typeof StaffLoginError)[keyof typeof StaffLoginError];

/** `details.reason` of auth.login.failure / auth.reauth failure records. */
export const LoginFailureReason = {
  badCredentials: 'bad_credentials',
  locked: 'locked',
  disabled: 'disabled',
  badTotp: 'bad_totp',
  totpReused: 'totp_reused',
  badRecoveryCode: 'bad_recovery_code',
  challengeInvalid: 'challenge_invalid',
  challengeExhausted: 'challenge_exhausted',
  notEnrolled: 'mfa_not_enrolled',
} as const;
export type LoginFailureReason = (typeof LoginFailureReason)[keyof typeof LoginFailureReason];

/** 429 with the seconds until the lock lifts (the route sets Retry-After from it). */
export class TooManyAttemptsError extends AppError {
  override readonly retryAfterSec: number;
  constructor(retryAfterSec: number) {
    super(429, StaffLoginError.tooManyAttempts, 'Too many failed sign-in attempts; try again later');
    this.name = 'TooManyAttemptsError';
    this.retryAfterSec = retryAfterSec;
  }
}

const invalidCredentials = () => new AppError(401, StaffLoginError.invalidCredentials, 'Invalid username or password');
const challengeInvalid = () => new AppError(401, StaffLoginError.challengeInvalid, 'Sign-in expired; start again');
const invalidCode = () => new AppError(401, StaffLoginError.invalidCode, 'Invalid or already used code');

export interface LoginContext {
  readonly requestId?: string | null;
  /** Client address: the per-address throttle key, recorded in audit when it is a valid IP. */
  readonly ip?: string | null;
}

// Requests without a known address share one bucket: throttled together rather than not at all.
const ipKey = (ctx: LoginContext) => ctx.ip ?? 'unknown';
const auditIp = (ctx: LoginContext) => (ctx.ip != null && isIP(ctx.ip) !== 0 ? ctx.ip : null);

export type SecondFactor = { readonly code: string } | { readonly recoveryCode: string };

export interface LoginSuccess {
  readonly userId: string;
  readonly role: StaffRole;
  readonly method: 'totp' | 'recovery_code';
  /** Unused recovery codes left (after a recovery-code sign-in, so the UI can warn). */
  readonly remainingRecoveryCodes?: number;
}

export interface StaffLogin {
  passwordStep(username: string, password: string, ctx: LoginContext): Promise<{ next: ChallengeStage; challenge: string }>;
  startEnrollment(challenge: string): Promise<{ secret: string; otpauthUri: string }>;
  confirmEnrollment(challenge: string, code: string, ctx: LoginContext): Promise<{ userId: string; role: StaffRole; recoveryCodes: string[] }>;
  mfaStep(challenge: string, factor: SecondFactor, ctx: LoginContext): Promise<LoginSuccess>;
  reauthenticate(userId: string, password: string, code: string, ctx: LoginContext): Promise<void>;
  regenerateRecoveryCodes(userId: string, ctx: LoginContext): Promise<string[]>;
}

export interface StaffLoginDeps {
  readonly db: Db;
  readonly users: UserStore;
  readonly throttle: LoginThrottle;
  readonly challenges: ChallengeStore;
  readonly sealer: MasterSealer;
  readonly audit: AuditLog;
  /** Shown in authenticator apps next to the account name. */
  readonly issuer: string;
  readonly now?: () => Date;
}

export function createStaffLogin(deps: StaffLoginDeps): StaffLogin {
  const { db, users, throttle, challenges, sealer, audit } = deps;
  const now = deps.now ?? (() => new Date());

  function record(
    action: AuditAction,
    outcome: AuditOutcome,
    creds: Pick<StaffCredentials, 'userId'> | null,
    ctx: LoginContext,
    details: AuditDetails = {},
    tx?: Sql,
  ) {
    return audit.append(
      {
        actorType: creds ? ActorType.user : ActorType.anonymous,
        actorId: creds ? creds.userId : null,
        action,
        outcome,
        ...(creds ? { resourceType: 'user', resourceId: creds.userId } : {}),
        requestId: ctx.requestId ?? null,
        ip: auditIp(ctx),
        details,
      },
      tx,
    );
  }

  const failure = (creds: StaffCredentials | null, ctx: LoginContext, reason: LoginFailureReason, extra: AuditDetails = {}) =>
    record(AuditAction.authLoginFailure, AuditOutcome.failure, creds, ctx, { reason, ...extra });

  /** Throws 429 (after auditing) when the account or address is locked. */
  async function assertNotThrottled(username: string, creds: StaffCredentials | null, ctx: LoginContext, action: AuditAction) {
    const decision = await throttle.check(username, ipKey(ctx));
    if (decision.allowed) return;
    await record(action, AuditOutcome.denied, creds, ctx, { reason: LoginFailureReason.locked, scope: decision.scope });
    throw new TooManyAttemptsError(decision.retryAfterSec);
  }

  /** Count a failure, audit it (`audited`), then audit the lockout it may have started. */
  async function countFailure(username: string, creds: StaffCredentials | null, ctx: LoginContext, audited: () => Promise<unknown>) {
    const { lockedNow, scope } = await throttle.recordFailure(username, ipKey(ctx));
    await audited();
    if (lockedNow) await record(AuditAction.authLockout, AuditOutcome.denied, creds, ctx, { scope: scope ?? 'account' });
  }

  function openSecret(creds: StaffCredentials): string | null {
    return creds.totpSecret ? sealer.open(creds.totpSecret, totpSecretAad(creds.userId)).toString('utf8') : null;
  }

  /** The live challenge at `stage` and its user, or audit + throw challenge_invalid. */
  async function loadChallenge(token: string, stage: ChallengeStage, ctx: LoginContext) {
    const ch = await challenges.peek(token);
    const creds = ch && ch.stage === stage ? await users.getCredentials(ch.userId) : null;
    if (!ch || !creds) {
      await failure(null, ctx, LoginFailureReason.challengeInvalid);
      throw challengeInvalid();
    }
    return creds;
  }

  /** Throttle, count the attempt against the challenge, and re-check the account is still usable. */
  async function beginCodeAttempt(token: string, creds: StaffCredentials, ctx: LoginContext) {
    await assertNotThrottled(creds.username, creds, ctx, AuditAction.authLoginFailure);
    if (!(await challenges.recordAttempt(token))) {
      await failure(creds, ctx, LoginFailureReason.challengeExhausted);
      throw challengeInvalid();
    }
    if (creds.status !== 'active') {
      await challenges.consume(token);
      await failure(creds, ctx, LoginFailureReason.disabled);
      throw challengeInvalid();
    }
  }

  async function codeFailure(creds: StaffCredentials, ctx: LoginContext, reason: LoginFailureReason): Promise<never> {
    await countFailure(creds.username, creds, ctx, () => failure(creds, ctx, reason));
    throw invalidCode();
  }

  /** Final step shared by enrollment and MFA: own the challenge, clear the account counter, audit. */
  async function complete(token: string, creds: StaffCredentials, ctx: LoginContext, details: AuditDetails) {
    if (!(await challenges.consume(token))) {
      await failure(creds, ctx, LoginFailureReason.challengeInvalid);
      throw challengeInvalid();
    }
    await throttle.recordSuccess(creds.username);
    await record(AuditAction.authLoginSuccess, AuditOutcome.success, creds, ctx, details);
  }

  return {
    async passwordStep(username, password, ctx) {
      const creds = await users.getCredentialsByUsername(username);
      await assertNotThrottled(username, creds, ctx, AuditAction.authLoginFailure);
      // Always pay for one argon2 verification, whatever the account's state.
      const ok = creds?.passwordHash ? await verifyPassword(password, creds.passwordHash) : await dummyVerify(password);
      if (!creds || !ok || creds.status !== 'active') {
        const reason = creds?.status === 'disabled' ? LoginFailureReason.disabled : LoginFailureReason.badCredentials;
        await countFailure(username, creds, ctx, () => failure(creds, ctx, reason));
        throw invalidCredentials();
      }
      if (creds.passwordHash && needsRehash(creds.passwordHash)) {
        await users.setPasswordHash(creds.userId, await hashPassword(password), { changed: false });
      }
      const next = creds.mfaEnrolledAt ? ChallengeStage.mfa : ChallengeStage.enroll;
      return { next, challenge: await challenges.create({ userId: creds.userId, stage: next }) };
    },

    async startEnrollment(token) {
      const ch = await challenges.peek(token);
      const creds = ch?.stage === ChallengeStage.enroll ? await users.getCredentials(ch.userId) : null;
      if (!creds || creds.status !== 'active' || creds.mfaEnrolledAt) throw challengeInvalid();
      const secret = generateSecret();
      const sealed = sealer.seal(Buffer.from(secret, 'utf8'), totpSecretAad(creds.userId));
      if (!(await users.startTotpEnrollment(creds.userId, sealed))) throw challengeInvalid();
      return { secret, otpauthUri: otpauthUri({ secret, accountName: creds.username, issuer: deps.issuer }) };
    },

    async confirmEnrollment(token, code, ctx) {
      const creds = await loadChallenge(token, ChallengeStage.enroll, ctx);
      await beginCodeAttempt(token, creds, ctx);
      const secret = openSecret(creds);
      if (secret === null || !creds.totpSecret) {
        await failure(creds, ctx, LoginFailureReason.notEnrolled);
        throw new AppError(409, StaffLoginError.mfaNotEnrolled, 'Start authenticator setup first');
      }
      const sealed = creds.totpSecret;
      const result = await verifyTotp(secret, code, now());
      if (!result.ok) return codeFailure(creds, ctx, LoginFailureReason.badTotp);
      const codes = generateRecoveryCodes();
      const enrolled = await db.transaction(async (tx) => {
        if (!(await users.confirmTotpEnrollment(creds.userId, result.step, sealed, tx))) return false;
        await users.replaceRecoveryCodes(creds.userId, codes.hashes, tx);
        const details = { method: 'totp', recoveryCodes: codes.hashes.length };
        await record(AuditAction.authMfaEnroll, AuditOutcome.success, creds, ctx, details, tx);
        return true;
      });
      if (!enrolled) {
        // A concurrent confirmation won, or the secret was replaced in another tab.
        await failure(creds, ctx, LoginFailureReason.challengeInvalid);
        throw challengeInvalid();
      }
      await complete(token, creds, ctx, { method: 'totp', enrolled: true });
      return { userId: creds.userId, role: creds.role, recoveryCodes: codes.codes };
    },

    async mfaStep(token, factor, ctx) {
      const creds = await loadChallenge(token, ChallengeStage.mfa, ctx);
      await beginCodeAttempt(token, creds, ctx);
      if ('code' in factor) {
        const secret = openSecret(creds);
        // A reset between the two steps leaves no secret: the user must sign in again and enroll.
        if (secret === null || !creds.mfaEnrolledAt) return codeFailure(creds, ctx, LoginFailureReason.notEnrolled);
        const result = await verifyTotp(secret, factor.code, now());
        if (!result.ok) return codeFailure(creds, ctx, LoginFailureReason.badTotp);
        if (!(await users.acceptTotpStep(creds.userId, result.step))) return codeFailure(creds, ctx, LoginFailureReason.totpReused);
        await complete(token, creds, ctx, { method: 'totp' });
        return { userId: creds.userId, role: creds.role, method: 'totp' };
      }
      const hash = hashRecoveryCode(factor.recoveryCode);
      if (hash === null || !(await users.consumeRecoveryCode(creds.userId, hash))) {
        return codeFailure(creds, ctx, LoginFailureReason.badRecoveryCode);
      }
      const remaining = await users.remainingRecoveryCodes(creds.userId);
      await record(AuditAction.authMfaRecoveryUse, AuditOutcome.success, creds, ctx, { remaining });
      await complete(token, creds, ctx, { method: 'recovery_code' });
      return { userId: creds.userId, role: creds.role, method: 'recovery_code', remainingRecoveryCodes: remaining };
    },

    async reauthenticate(userId, password, code, ctx) {
      const creds = await users.getCredentials(userId);
      if (!creds) {
        await record(AuditAction.authReauth, AuditOutcome.failure, null, ctx, { reason: LoginFailureReason.badCredentials });
        throw invalidCredentials();
      }
      await assertNotThrottled(creds.username, creds, ctx, AuditAction.authReauth);
      const passwordOk = creds.passwordHash ? await verifyPassword(password, creds.passwordHash) : await dummyVerify(password);
      let reason: LoginFailureReason | null = passwordOk ? null : LoginFailureReason.badCredentials;
      if (reason === null && creds.status !== 'active') reason = LoginFailureReason.disabled;
      const secret = reason === null ? openSecret(creds) : null;
      if (reason === null && (secret === null || !creds.mfaEnrolledAt)) reason = LoginFailureReason.notEnrolled;
      if (reason === null && secret !== null) {
        const result = await verifyTotp(secret, code, now());
        if (!result.ok) reason = LoginFailureReason.badTotp;
        else if (!(await users.acceptTotpStep(creds.userId, result.step))) reason = LoginFailureReason.totpReused;
      }
      if (reason !== null) {
        await countFailure(creds.username, creds, ctx, () => record(AuditAction.authReauth, AuditOutcome.failure, creds, ctx, { reason }));
        throw invalidCredentials();
      }
      await record(AuditAction.authReauth, AuditOutcome.success, creds, ctx);
    },

    async regenerateRecoveryCodes(userId, ctx) {
      const creds = await users.getCredentials(userId);
      if (!creds || creds.status !== 'active' || !creds.mfaEnrolledAt) {
        throw new AppError(409, StaffLoginError.mfaNotEnrolled, 'Set up an authenticator first');
      }
      const codes = generateRecoveryCodes();
      await db.transaction(async (tx) => {
        await users.replaceRecoveryCodes(userId, codes.hashes, tx);
        await record(AuditAction.authMfaRecoveryRegenerate, AuditOutcome.success, creds, ctx, { count: codes.hashes.length }, tx);
      });
      return codes.codes;
    },
  };
}

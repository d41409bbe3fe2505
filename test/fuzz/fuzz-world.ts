/**
 * For the fuzz suites: one real gateway per file (every feature route the composition root
 * builds, Twilio webhooks on, a real socket, PGlite + the test Redis), staff of every role and a
 * messaging patient, a fresh session per request (a fuzzed call may log its own session out or
 * revoke it; the next call must not inherit that), and the checks every fuzzed answer must pass.
 * Not a test file.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createMasterKeyring, generateMasterKey, totpSecretAad } from '../../core/crypto/index.ts';
import type { Db } from '../../core/db/types.ts';
import { addToCareTeam } from '../../core/identity/care-team.ts';
import { ensurePatientPrincipal } from '../../core/identity/patient-principal.ts';
import { STAFF_ROLES, type StaffRole } from '../../core/identity/principal.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { hashPassword } from '../../gateway/auth/password.ts';
import { generateSecret } from '../../gateway/auth/totp.ts';
import { testConfig } from '../../gateway/testing/harness.ts';
import { STAFF_PASSWORD } from '../../gateway/testing/identity-harness.ts';
import type { MediaService } from '../../media/index.ts';
import { openTestDb } from '../helpers/databases.ts';
import { startTestGateway, type TestGateway } from '../helpers/messaging.ts';

export const TWILIO_AUTH_TOKEN = 'fuzz-twilio-auth-token-0123456789';
export const PUBLIC_ORIGIN = 'http://gateway.fuzz.example';

/** Who a fuzzed request is sent as. */
export const CALLERS = ['anonymous', ...STAFF_ROLES, 'patient'] as const;
export type Caller = (typeof CALLERS)[number];

export interface FuzzWorld {
  readonly db: Db;
  readonly redis: Redis;
  readonly gateway: TestGateway;
  readonly url: string;
  readonly staff: Readonly<Record<StaffRole, string>>;
  readonly patient: { readonly patientId: string; readonly userId: string };
  /** A new session token for the caller (undefined for anonymous). */
  token(caller: Caller): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function startFuzzWorld(opts: { env?: Record<string, string>; media?: MediaService } = {}): Promise<FuzzWorld> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    const t = await openTestDb('pglite');
    cleanups.push(() => t.dispose());
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const config = testConfig({ TWILIO_AUTH_TOKEN, PUBLIC_URL: PUBLIC_ORIGIN, ...opts.env });
    const gateway = await startTestGateway({ db: t.db, redis, config, keyPrefix: `test-${randomUUID()}:`, keyring: createMasterKeyring(generateMasterKey()), bullPrefix: `test-${randomUUID()}`, ...(opts.media === undefined ? {} : { media: opts.media }) });
    cleanups.push(() => gateway.close());
    const { identity } = gateway.features;
    const passwordHash = await hashPassword(STAFF_PASSWORD);
    const staff = {} as Record<StaffRole, string>;
    for (const role of STAFF_ROLES) {
      const user = await identity.users.createStaff({ username: `fuzz-${role.replace('_', '-')}-${randomUUID().slice(0, 8)}`, displayName: `Fuzz ${role}`, role, passwordHash, createdBy: null });
      const sealed = identity.sealer.seal(Buffer.from(generateSecret(), 'utf8'), totpSecretAad(user.id));
      await identity.users.startTotpEnrollment(user.id, sealed);
      await identity.users.confirmTotpEnrollment(user.id, 0, sealed);
      staff[role] = user.id;
    }
    const { id: patientId } = await identity.patients.create(
      { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1990-04-01', phone: '+15555550123', email: 'ada@example.org', mrn: 'MRN-1', timeZone: 'America/New_York' },
      { actorType: 'system', actorId: 'test' },
    );
    await addToCareTeam(t.db, staff.provider, patientId, null);
    const { id: patientUserId } = await ensurePatientPrincipal(t.db, patientId);

    const token = async (caller: Caller): Promise<string | undefined> => {
      if (caller === 'anonymous') return undefined;
      const created =
        caller === 'patient'
          ? await identity.sessions.create({ kind: 'patient', userId: patientUserId, role: null, patientId, scope: 'messaging', appointmentId: null })
          : await identity.sessions.create({ kind: 'staff', userId: staff[caller], role: caller, patientId: null, scope: null, appointmentId: null });
      return created.token;
    };
    return { db: t.db, redis, gateway, url: gateway.url, staff, patient: { patientId, userId: patientUserId }, token, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** What a stack trace or an internal error leaking into an answer looks like. */
const LEAK = /\bat [^\n]*\(?(?:file:\/\/|node:internal|\/[^\s)]+\.[cm]?[jt]s:\d+:\d+)|node_modules|\bTypeError\b|\bReferenceError\b|\bSyntaxError: |ECONNREFUSED|\bpglite\b|duplicate key value|violates .* constraint/i;

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/**
 * Why an answer breaks the rules (undefined when it keeps them): < 500, JSON error bodies, no
 * leaks. `documented` lists the content types the operation documents for that status: a
 * refusal documented as a page (the unsubscribe link's 404) may be that page.
 */
export function answerProblem(a: Answer, documented: readonly string[] = []): string | undefined {
  if (a.status >= 500) return `status ${a.status}: ${a.text.slice(0, 300)}`;
  if (LEAK.test(a.text)) return `internal detail leaked: ${a.text.slice(0, 300)}`;
  if (a.status < 400) return undefined;
  const type = a.contentType.split(';')[0]?.trim() ?? '';
  if (type !== 'application/json' && documented.includes(type)) return undefined;
  if (!/^application\/json\b/.test(a.contentType)) return `error ${a.status} with content-type ${a.contentType}`;
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    return `error ${a.status} with a body that is not JSON: ${a.text.slice(0, 200)}`;
  }
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  const e = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : undefined;
  if (e === undefined || typeof e['code'] !== 'string' || typeof e['message'] !== 'string') return `error ${a.status} without {error:{code,message}}: ${a.text.slice(0, 200)}`;
  return undefined;
}

/** fetch with a deadline; resolves to the answer (status, content type, body text). */
export async function timedFetch(url: string, init: RequestInit, deadlineMs: number): Promise<Answer & { readonly ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(deadlineMs) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, ms: performance.now() - started };
}

/**
 * `npm run load -- login`: staff sign-in and the API mix of a clinic's working day. --vus staff
 * accounts (half providers, the rest schedulers, auditors and admins, as a clinic staffs) each
 * hold --iterations sessions over --duration s: sign in (password, then a TOTP code from the
 * enrolled authenticator), work their role's read mix closed-loop with a short think time until
 * the session's slot is over, then sign out. Sign-ins are staggered over the first second of each
 * slot, as a shift start is, so the password hash (the costly part) is measured under contention.
 *
 * Metrics: login_password_ms (POST /auth/login), login_mfa_ms (POST /auth/mfa: TOTP check and the
 * session), logout_ms, api_ms (every mix call) and one trend per call kind, error_rate over every
 * call. Waiting for the authenticator's next 30 s step is not measured (the gateway accepts each
 * step once per account, so a second sign-in within one step waits, as a person would).
 */
import { z } from 'zod';
import { api, ApiError } from './api.ts';
import { Rate, Trend, type MetricSummary } from './metrics.ts';
import { createPatient, createStaff, firstSignIn, mapLimit, signIn, type Authenticator, type Staff } from './seed.ts';
import { every, sleep, type Scenario, type ScenarioContext, type ScenarioOutcome } from './scenario.ts';

type Role = 'provider' | 'scheduler' | 'auditor' | 'admin';

/** Ten accounts' roles, repeated: 5 providers, 3 schedulers, 1 auditor, 1 admin. */
const ROLE_CYCLE: readonly Role[] = ['provider', 'provider', 'provider', 'provider', 'provider', 'scheduler', 'scheduler', 'scheduler', 'auditor', 'admin'];
const PATIENTS_PER_PROVIDER = 3;
const THINK_MS = 50;
const SETUP_CONCURRENCY = 4;

interface User {
  readonly index: number;
  readonly role: Role;
  readonly staff: Staff;
  readonly authenticator: Authenticator;
}

interface Mix {
  readonly name: string;
  path(now: Date, u: User, providerIds: readonly string[]): string;
}

const day = (now: Date, days: number): string => new Date(now.getTime() + days * 86_400_000).toISOString();
const q = (params: Record<string, string>): string => new URLSearchParams(params).toString();

/** What each role reads most: a console's first screens and its refreshes. */
const MIXES: Readonly<Record<Role, readonly Mix[]>> = {
  provider: [
    { name: 'appointments', path: (now) => `/appointments?${q({ from: day(now, 0), to: day(now, 1) })}` },
    { name: 'patients', path: () => '/patients?limit=50' },
    { name: 'session', path: () => '/auth/session' },
  ],
  scheduler: [
    { name: 'patients', path: () => '/patients?limit=100' },
    { name: 'appointments', path: (now, u, providers) => `/appointments?${q({ providerId: providers[u.index % providers.length] ?? '', from: day(now, 0), to: day(now, 2) })}` },
    { name: 'templates', path: () => '/templates' },
    { name: 'campaigns', path: () => '/campaigns' },
  ],
  auditor: [
    { name: 'audit_search', path: (now) => `/audit/search?${q({ from: day(now, -1), to: day(now, 1), limit: '50' })}` },
    { name: 'audit_checkpoint', path: () => '/audit/checkpoints/latest' },
    { name: 'session', path: () => '/auth/session' },
  ],
  admin: [
    { name: 'users', path: () => '/admin/users' },
    { name: 'lockouts', path: () => '/admin/lockouts' },
    { name: 'clinics', path: () => '/clinics' },
  ],
};

const Anything = z.unknown();

class Tracker {
  readonly password = new Trend();
  readonly mfa = new Trend();
  readonly logout = new Trend();
  readonly api = new Trend();
  readonly perCall = new Map<string, Trend>();
  readonly ops = new Rate();
  readonly errors = new Map<string, number>();
  signIns = 0;

  call(name: string, ms: number): void {
    this.api.add(ms);
    let t = this.perCall.get(name);
    if (t === undefined) this.perCall.set(name, (t = new Trend()));
    t.add(ms);
    this.ops.add(false);
  }

  failed(what: string, err: unknown): void {
    this.ops.add(true);
    const key = `${what}: ${err instanceof ApiError ? `${err.status} ${err.code}` : err instanceof Error ? err.message.slice(0, 120) : String(err)}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }
}

async function seed(baseUrl: string, adminToken: string, vus: number, progress: (line: string) => void): Promise<{ users: User[]; providerIds: string[] }> {
  progress(`creating ${vus} staff accounts (each enrolls its authenticator on first sign-in)`);
  const users = await mapLimit(
    Array.from({ length: vus }, (_, i) => i),
    SETUP_CONCURRENCY,
    async (index): Promise<User> => {
      const role = ROLE_CYCLE[index % ROLE_CYCLE.length] ?? 'provider';
      const staff = await createStaff(baseUrl, adminToken, role, `load-${role}-${String(index).padStart(4, '0')}`);
      const first = await firstSignIn(baseUrl, staff.username, staff.password);
      if (role === 'provider') {
        // A care team and today's visits, so the provider's lists are not empty.
        const now = Date.now();
        for (let n = 0; n < PATIENTS_PER_PROVIDER; n++) {
          const patientId = await createPatient(baseUrl, first.token, index * 100 + n);
          const startsAt = new Date(now + (n + 1) * 3_600_000);
          const body = { patientId, providerId: staff.id, startsAt: startsAt.toISOString(), endsAt: new Date(startsAt.getTime() + 1_800_000).toISOString() };
          await api(baseUrl, { method: 'POST', path: '/appointments', token: first.token, body }, Anything);
        }
      }
      await api(baseUrl, { method: 'POST', path: '/auth/logout', token: first.token }, null);
      return { index, role, staff, authenticator: first.authenticator };
    },
  );
  return { users, providerIds: users.filter((u) => u.role === 'provider').map((u) => u.staff.id) };
}

/** One session: sign in, work the role's mix until `until`, sign out. */
async function session(baseUrl: string, u: User, until: number, providerIds: readonly string[], t: Tracker): Promise<void> {
  let token: string;
  try {
    const s = await signIn(baseUrl, u.staff.username, u.staff.password, u.authenticator);
    t.password.add(s.passwordMs);
    t.mfa.add(s.mfaMs);
    t.ops.add(false);
    t.signIns++;
    token = s.token;
  } catch (err) {
    t.failed('sign-in', err);
    return;
  }
  const mix = MIXES[u.role];
  let k = u.index;
  while (performance.now() < until) {
    const m = mix[k++ % mix.length];
    if (m === undefined) break;
    try {
      const r = await api(baseUrl, { method: 'GET', path: m.path(new Date(), u, providerIds), token }, Anything);
      t.call(m.name, r.ms);
    } catch (err) {
      t.failed(m.name, err);
    }
    await sleep(THINK_MS);
  }
  try {
    const r = await api(baseUrl, { method: 'POST', path: '/auth/logout', token }, null);
    t.logout.add(r.ms);
    t.ops.add(false);
  } catch (err) {
    t.failed('logout', err);
  }
}

async function run(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const { options, progress } = ctx;
  const deployment = await ctx.deploy();
  const { baseUrl } = deployment;
  const admin = await firstSignIn(baseUrl, deployment.admin.username, deployment.admin.password);
  const { users, providerIds } = await seed(baseUrl, admin.token, options.vus, progress);
  const t = new Tracker();
  const slotMs = (options.duration * 1000) / options.iterations;
  progress(`load: ${users.length} staff × ${options.iterations} sessions of ${(slotMs / 1000).toFixed(1)} s`);
  const start = performance.now();
  const stopProgress = every(2000, () => {
    progress(`${((performance.now() - start) / 1000).toFixed(0).padStart(4)} s  sign-ins ${t.signIns}/${users.length * options.iterations}  calls ${t.api.count}  errors ${t.ops.failures}`);
  });
  try {
    await Promise.all(
      users.map(async (u) => {
        for (let k = 0; k < options.iterations; k++) {
          const slot = start + k * slotMs;
          await sleep(slot + (u.index / users.length) * Math.min(1000, slotMs / 4) - performance.now());
          await session(baseUrl, u, slot + slotMs, providerIds, t);
        }
      }),
    );
  } finally {
    stopProgress();
  }
  const seconds = (performance.now() - start) / 1000;
  const metrics: Record<string, MetricSummary> = {
    login_password_ms: t.password.summary(),
    login_mfa_ms: t.mfa.summary(),
    logout_ms: t.logout.summary(),
    api_ms: t.api.summary(),
    ...Object.fromEntries([...t.perCall.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, trend]) => [`api_${name}_ms`, trend.summary()])),
    sign_ins: { type: 'counter', value: t.signIns },
    api_calls_per_second: { type: 'counter', value: Math.round((t.api.count / seconds) * 10) / 10 },
    error_rate: t.ops.summary(),
  };
  return {
    metrics,
    thresholds: [
      { metric: 'sign_ins', stat: 'value', op: '==', limit: users.length * options.iterations },
      { metric: 'error_rate', stat: 'value', op: '==', limit: 0 },
      // The password hash is deliberately slow (argon2id, ~30 ms alone); a shift start's sign-ins queue behind each other on 2 cores.
      { metric: 'login_password_ms', stat: 'p95', op: '<', limit: 500 },
      { metric: 'login_mfa_ms', stat: 'p95', op: '<', limit: 300 },
      { metric: 'api_ms', stat: 'p95', op: '<', limit: 200 },
      { metric: 'api_ms', stat: 'p99', op: '<', limit: 500 },
    ],
    notes: [
      `${users.length} staff: ${(['provider', 'scheduler', 'auditor', 'admin'] as const).map((r) => `${users.filter((u) => u.role === r).length} ${r}`).join(', ')}; ${PATIENTS_PER_PROVIDER} patients with visits today per provider`,
      `each session: sign-in (password + TOTP), the role's reads closed-loop with ${THINK_MS} ms think time, sign-out`,
      ...[...t.errors.entries()].slice(0, 5).map(([e, n]) => `error ×${n}: ${e}`),
    ],
  };
}

export const loginScenario: Scenario = {
  name: 'login',
  summary: 'staff sign-in (password + TOTP) and each role’s API read mix, then sign-out',
  iterationsMean: 'sessions per staff account, one after another over --duration',
  defaults: { vus: 20, duration: 30, iterations: 2 },
  settings: {},
  settingsWhy: ['default settings'],
  run,
};

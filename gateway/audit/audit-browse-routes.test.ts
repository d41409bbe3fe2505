/**
 * The console's audit read routes over HTTP on both engines: search filters and seq paging that
 * stays stable while the chain grows, counts per bucket in a time zone, the action vocabulary, the
 * latest checkpoint, and break-glass usage attributed to the right grant. Each read of entries is
 * audited; bad windows, actions, zones and ids are refused with the field named.
 */
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createCheckpointer, keyIdOf } from '../../core/audit/index.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { ENGINES, openTestDb, type TestDb } from '../../test/helpers/databases.ts';
import { identityHarness } from '../testing/identity-harness.ts';
import { auditBrowseRoutes } from './audit-browse-routes.ts';

type Harness = ReturnType<typeof identityHarness>;
interface Event {
  seq: number;
  action: string;
  actorId: string | null;
  patientId: string | null;
  breakGlass: boolean;
  hash: string;
  prevHash: string;
}
interface Page {
  events: Event[];
  next: number | null;
  until: number;
  total: number | null;
}
type ErrorBody = { error: { code: string; fields?: { path: string; message: string }[] } };

const HOUR = 3_600_000;
const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;
const windowOf = (fromMs: number, toMs: number): string => `from=${encodeURIComponent(new Date(fromMs).toISOString())}&to=${encodeURIComponent(new Date(toMs).toISOString())}`;
const around = (): string => windowOf(Date.now() - HOUR, Date.now() + HOUR);

describe.each(ENGINES)('audit browse routes on %s', (kind) => {
  let t: TestDb;
  let redis: Redis;
  let h: Harness;

  beforeEach(async () => {
    t = await openTestDb(kind);
    redis = await connectRedis(inject('redisUrl'));
    h = identityHarness({ db: t.db, redis, routes: (identity, { audit, db }) => [auditBrowseRoutes({ db, audit, sessionMw: identity.sessionMw, access: identity.access })] });
  });
  afterEach(async () => {
    await h.close();
    redis.disconnect();
    await t.dispose();
  });

  const auditor = async (): Promise<{ id: string; token: string }> => {
    const a = await h.seedStaff('auditor');
    return { id: a.id, token: (await h.staffSession(a)).token };
  };

  it('filters by actor, patient, action and break-glass flag, and pages by seq without drifting while the chain grows', async () => {
    const { id: auditorId, token } = await auditor();
    const actor = randomUUID();
    const patient = randomUUID();
    for (let i = 0; i < 7; i++) {
      await h.audit.append({ actorType: 'user', actorId: actor, action: i % 2 === 0 ? 'patient.view' : 'patient.update', patientId: patient, outcome: 'success', breakGlass: i < 3 });
    }
    await h.audit.append({ actorType: 'user', actorId: randomUUID(), action: 'patient.view', patientId: patient, outcome: 'success' });

    const byActor = await json<Page>(await h.call('GET', `/audit/search?${around()}&actorId=${actor}&order=asc&limit=3`, token));
    expect(byActor.total).toBe(7);
    expect(byActor.events).toHaveLength(3);
    expect(byActor.events.every((e) => e.actorId === actor && e.patientId === patient)).toBe(true);
    expect(byActor.events[0]?.prevHash).toMatch(/^[0-9a-f]{64}$/);

    // Appends between pages (here: more of the same actor) must not shift or extend the listing.
    await h.audit.append({ actorType: 'user', actorId: actor, action: 'patient.view', patientId: patient, outcome: 'success' });
    const seen = [...byActor.events];
    let next = byActor.next;
    while (next !== null) {
      const page = await json<Page>(await h.call('GET', `/audit/search?${around()}&actorId=${actor}&order=asc&limit=3&after=${next}&until=${byActor.until}`, token));
      expect(page.total).toBeNull();
      seen.push(...page.events);
      next = page.next;
    }
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toHaveLength(7);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(7);

    const newest = await json<Page>(await h.call('GET', `/audit/search?${around()}&actorId=${actor}&limit=2`, token));
    const mine = await t.db.query<{ seq: number }>('SELECT seq FROM audit_log WHERE actor_id = $1 ORDER BY seq DESC LIMIT 2', [actor]);
    expect(newest.events.map((e) => e.seq)).toEqual(mine.map((r) => r.seq));
    expect(newest.total).toBe(8);

    const updates = await json<Page>(await h.call('GET', `/audit/search?${around()}&actorId=${actor}&action=patient.update`, token));
    expect(updates.events.map((e) => e.action)).toEqual(['patient.update', 'patient.update', 'patient.update']);
    const flagged = await json<Page>(await h.call('GET', `/audit/search?${around()}&patientId=${patient}&breakGlass=true`, token));
    expect(flagged.events).toHaveLength(3);
    expect(flagged.events.every((e) => e.breakGlass)).toBe(true);
    const outside = await json<Page>(await h.call('GET', `/audit/search?${windowOf(Date.now() - 3 * HOUR, Date.now() - 2 * HOUR)}&actorId=${actor}`, token));
    expect(outside).toMatchObject({ events: [], total: 0, next: null });

    // Reading the log is itself recorded, with ids and flags only.
    const reads = (await h.auditRows('audit.export')).filter((r) => r.actor_id === auditorId);
    expect(reads.length).toBeGreaterThanOrEqual(6);
    expect(reads.find((r) => r.patient_id === patient)?.details).toMatchObject({ view: 'search', byPatient: true });
  });

  it('refuses bad windows, unknown actions and a page without its bound, naming the field', async () => {
    const { token } = await auditor();
    const now = Date.now();
    const cases: [string, string][] = [
      [`/audit/search?${windowOf(now, now - HOUR)}`, 'query.to'],
      [`/audit/search?${windowOf(now - 400 * 24 * HOUR, now)}`, 'query.to'],
      [`/audit/search?${around()}&action=patient.peek`, 'query.action'],
      [`/audit/search?${around()}&after=5`, 'query.until'],
      [`/audit/search?${around()}&limit=501`, 'query.limit'],
      [`/audit/search?from=yesterday&to=today`, 'query.from'],
      [`/audit/activity?${windowOf(now - 40 * 24 * HOUR, now)}&bucket=hour`, 'query.bucket'],
      [`/audit/activity?${around()}&timeZone=Mars/Olympus_Mons`, 'query.timeZone'],
      ['/audit/break-glass-usage?ids=not-a-grant-id-not-a-grant-id-not-a-grant', 'query.ids'],
      [`/audit/break-glass-usage?ids=${randomUUID()};${randomUUID()}`, 'query.ids'],
    ];
    const officer = (await h.staffSession(await h.seedStaff('privacy_officer'))).token;
    for (const [path, field] of cases) {
      // Grant usage is the privacy officer's; the rest is every audit reader's.
      const res = await h.call('GET', path, path.includes('break-glass') ? officer : token);
      expect(res.status, path).toBe(400);
      const body = await json<ErrorBody>(res);
      expect(body.error.code, path).toBe('validation_failed');
      expect(body.error.fields?.map((f) => f.path), path).toContain(field);
    }
  });

  it('counts entries per hour and per day in the asked time zone', async () => {
    const { token } = await auditor();
    for (let i = 0; i < 4; i++) await h.audit.append({ actorType: 'system', actorId: 'test', action: 'system.config', outcome: 'success' });
    const rows = await t.db.query<{ action: string; at: Date }>('SELECT action, at FROM audit_log');
    const expected = new Map<string, number>();
    for (const r of rows) expected.set(r.action, (expected.get(r.action) ?? 0) + 1);

    type Activity = { bucket: string; timeZone: string; total: number; buckets: { start: string; counts: Record<string, number> }[] };
    const hourly = await json<Activity>(await h.call('GET', `/audit/activity?${around()}&bucket=hour&timeZone=UTC`, token));
    expect(hourly.total).toBe(rows.length);
    const summed = new Map<string, number>();
    for (const b of hourly.buckets) {
      expect(new Date(b.start).getUTCMinutes()).toBe(0);
      for (const [a, n] of Object.entries(b.counts)) summed.set(a, (summed.get(a) ?? 0) + n);
    }
    expect(summed).toEqual(expected);
    expect(summed.get('system.config')).toBe(4);

    // Kolkata is UTC+05:30: its days start at 18:30 UTC.
    const daily = await json<Activity>(await h.call('GET', `/audit/activity?${around()}&bucket=day&timeZone=Asia/Kolkata`, token));
    expect(daily).toMatchObject({ bucket: 'day', timeZone: 'Asia/Kolkata' });
    expect(daily.buckets.length).toBeGreaterThanOrEqual(1);
    for (const b of daily.buckets) expect(b.start).toMatch(/T18:30:00\.000Z$/);
    // The hourly read above was audited, so the daily count includes it.
    expect(daily.total).toBe(rows.length + 1);
  });

  it('lists the action vocabulary and the latest signed checkpoint', async () => {
    const { token } = await auditor();
    const vocab = await json<{ actions: string[] }>(await h.call('GET', '/audit/actions', token));
    expect(vocab.actions).toEqual(expect.arrayContaining(['break_glass.request', 'break_glass.review', 'audit.verify', 'patient.view']));

    expect(await json<unknown>(await h.call('GET', '/audit/checkpoints/latest', token))).toEqual({ checkpoint: null });
    await h.audit.append({ actorType: 'system', actorId: 'test', action: 'system.start', outcome: 'success' });
    const { privateKey } = generateKeyPairSync('ed25519');
    const publicKey = createPublicKey(privateKey);
    const signed = await createCheckpointer(t.db, { keyId: keyIdOf(publicKey), privateKey, publicKey }).checkpoint();
    expect(signed).not.toBeNull();
    const latest = await json<{ checkpoint: { seq: number; at: string; keyId: string } }>(await h.call('GET', '/audit/checkpoints/latest', token));
    expect(latest.checkpoint).toEqual({ seq: signed?.seq, at: signed?.at, keyId: keyIdOf(publicKey) });
  });

  it('attributes flagged actions to the grant they were done under, for privacy officers only', async () => {
    const provider = await h.seedStaff('provider');
    const other = await h.seedStaff('provider');
    const patient = await h.seedPatient();
    const elsewhere = await h.seedPatient();
    const ctx = { actorType: 'user', actorId: provider.id } as const;
    const first = await h.identity.breakGlass.request({ providerId: provider.id, patientId: patient, reason: 'Collapsed in the waiting room' }, ctx);
    const { token: providerToken } = await h.staffSession(provider);
    for (let i = 0; i < 3; i++) expect((await h.call('GET', `/patients/${patient}`, providerToken)).status).toBe(200);
    // A second request ends the first grant: what follows belongs to the second one.
    const second = await h.identity.breakGlass.request({ providerId: provider.id, patientId: patient, reason: 'Follow-up of the same emergency' }, ctx);
    expect((await h.call('GET', `/patients/${patient}`, providerToken)).status).toBe(200);
    // Someone else's grant on another patient, and the provider's own ordinary work, are not counted.
    const unrelated = await h.identity.breakGlass.request({ providerId: other.id, patientId: elsewhere, reason: 'Unrelated emergency access' }, { actorType: 'user', actorId: other.id });
    await h.audit.append({ actorType: 'user', actorId: provider.id, action: 'patient.view', patientId: patient, outcome: 'success' });

    const officer = await h.seedStaff('privacy_officer');
    const { token } = await h.staffSession(officer);
    const unknown = randomUUID();
    const res = await h.call('GET', `/audit/break-glass-usage?ids=${first.id},${second.id},${unrelated.id},${unknown}`, token);
    expect(res.status).toBe(200);
    const { usage } = await json<{ usage: { grantId: string; actions: number; lastAt: string | null }[] }>(res);
    expect(usage.map((u) => [u.grantId, u.actions])).toEqual([
      [first.id, 3],
      [second.id, 1],
      [unrelated.id, 0],
    ]);
    expect(usage[2]?.lastAt).toBeNull();
    expect((await h.auditRows('audit.export')).at(-1)).toMatchObject({ actor_id: officer.id, details: { view: 'break_glass_usage', count: 3 } });

    const { token: auditorToken } = await auditor();
    expect((await h.call('GET', `/audit/break-glass-usage?ids=${first.id}`, auditorToken)).status).toBe(403);
  });
});

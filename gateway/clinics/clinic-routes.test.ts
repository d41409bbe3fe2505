/**
 * Clinics over HTTP on the real identity stack: admins add and archive, every staff member lists,
 * names are validated and unique among live clinics, and the audit chain gets ids only.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createClinicStore } from '../../core/clinics/store.ts';
import { identityPerTest } from '../../test/helpers/identity.ts';
import { clinicRoutes } from './clinic-routes.ts';

interface ClinicView {
  id: string;
  name: string;
  timeZone: string;
  createdAt: string;
  archivedAt: string | null;
}
type ErrorBody = { error: { code: string; fields?: { path: string; message: string }[] } };

describe('clinic routes', () => {
  const harness = identityPerTest({}, (identity, { audit, db }) => [clinicRoutes({ clinics: createClinicStore({ db, audit }), sessionMw: identity.sessionMw, access: identity.access })]);
  const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

  it('lets admins add and archive clinics and every staff role list them; archived ones only on request', async () => {
    const h = harness();
    const admin = await h.seedStaff('admin');
    const { token } = await h.staffSession(admin);

    const created = await h.call('POST', '/clinics', token, { name: ' Riverside Family Medicine ', timeZone: 'America/Chicago' });
    expect(created.status).toBe(201);
    const river = await json<ClinicView>(created);
    expect(river).toMatchObject({ name: 'Riverside Family Medicine', timeZone: 'America/Chicago', archivedAt: null });
    expect(new Date(river.createdAt).toISOString()).toBe(river.createdAt);
    const hill = await json<ClinicView>(await h.call('POST', '/clinics', token, { name: 'Hillcrest', timeZone: 'Europe/Paris' }));

    for (const role of ['provider', 'scheduler', 'auditor', 'privacy_officer'] as const) {
      const other = await h.staffSession(await h.seedStaff(role));
      const res = await h.call('GET', '/clinics', other.token);
      expect(res.status, role).toBe(200);
      expect((await json<{ clinics: ClinicView[] }>(res)).clinics).toEqual([hill, river]);
      expect((await h.call('POST', '/clinics', other.token, { name: `By ${role}`, timeZone: 'UTC' })).status, role).toBe(403);
      expect((await h.call('POST', `/clinics/${hill.id}/archive`, other.token)).status, role).toBe(403);
    }

    const archived = await h.call('POST', `/clinics/${hill.id}/archive`, token);
    expect(archived.status).toBe(200);
    const view = await json<ClinicView>(archived);
    expect(view.archivedAt).toEqual(expect.any(String));
    expect(await json<ClinicView>(await h.call('POST', `/clinics/${hill.id}/archive`, token))).toEqual(view);
    expect((await json<{ clinics: ClinicView[] }>(await h.call('GET', '/clinics', token))).clinics.map((c) => c.id)).toEqual([river.id]);
    expect((await json<{ clinics: ClinicView[] }>(await h.call('GET', '/clinics?includeArchived=true', token))).clinics.map((c) => c.id)).toEqual([hill.id, river.id]);
    expect((await h.call('GET', '/clinics?includeArchived=yes', token)).status).toBe(400);
    expect((await h.call('POST', `/clinics/${randomUUID()}/archive`, token)).status).toBe(404);
    expect((await h.call('POST', '/clinics/not-a-uuid/archive', token)).status).toBe(400);
    expect((await h.call('GET', '/clinics')).status).toBe(401);

    expect((await h.auditRows('clinic.create')).map((r) => [r.resource_type, r.resource_id, r.actor_id, r.details])).toEqual([
      ['clinic', river.id, admin.id, {}],
      ['clinic', hill.id, admin.id, {}],
    ]);
    expect((await h.auditRows('clinic.archive')).map((r) => r.resource_id)).toEqual([hill.id]);
    // Four roles × (add, archive), each an audited denial; the anonymous call is a 401, not a denial.
    expect(await h.auditRows('access.denied')).toHaveLength(8);
  });

  it('answers 400 naming the field for bad names and zones, and 409 for a live name in any letter case', async () => {
    const h = harness();
    const { token } = await h.staffSession(await h.seedStaff('admin'));
    const refused = async (body: unknown) => {
      const res = await h.call('POST', '/clinics', token, body);
      const err = (await json<ErrorBody>(res)).error;
      return [res.status, err.code, err.fields?.map((f) => f.path)];
    };
    expect(await refused({ name: '', timeZone: 'UTC' })).toEqual([400, 'validation_failed', ['body.name']]);
    expect(await refused({ name: 'x'.repeat(121), timeZone: 'UTC' })).toEqual([400, 'validation_failed', ['body.name']]);
    expect(await refused({ name: 'Two\nlines', timeZone: 'UTC' })).toEqual([400, 'validation_failed', ['body.name']]);
    expect(await refused({ name: 'Riverside', timeZone: 'Mars/Base' })).toEqual([400, 'validation_failed', ['body.timeZone']]);
    expect(await refused({ name: 'Riverside' })).toEqual([400, 'validation_failed', ['body.timeZone']]);
    expect(await refused({ name: 'Riverside', timeZone: 'UTC', phone: '+15555550123' })).toEqual([400, 'validation_failed', ['body.phone']]);

    expect((await h.call('POST', '/clinics', token, { name: 'Riverside', timeZone: 'UTC' })).status).toBe(201);
    const dup = await h.call('POST', '/clinics', token, { name: 'riverSIDE', timeZone: 'UTC' });
    expect([dup.status, (await json<ErrorBody>(dup)).error.code]).toEqual([409, 'conflict']);
    expect(await h.auditRows('clinic.create')).toHaveLength(1);
  });

  it('is listed in /openapi.json with its request schema', async () => {
    const h = harness();
    type Op = { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> }; responses: Record<string, unknown> };
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, Op>> };
    expect(Object.keys(doc.paths['/clinics'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/clinics/{id}/archive'] ?? {})).toEqual(['post']);
    const body = doc.paths['/clinics']?.['post']?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(body?.properties ?? {})).toEqual(['name', 'timeZone']);
    expect(body?.required).toEqual(['name', 'timeZone']);
    expect(Object.keys(doc.paths['/clinics']?.['post']?.responses ?? {})).toEqual(expect.arrayContaining(['201', '400', '401', '403', '409']) as unknown);
  });
});

/**
 * Appointments over HTTP on the real identity stack, for what a client sees of clinics: the view
 * carries `clinicId` (null when none), booking names a live clinic or is refused with a 400
 * naming `clinicId`, and rescheduling moves an appointment between clinics or keeps it.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createClinicStore } from '../../core/clinics/store.ts';
import { identityPerTest, type IdentityHarness } from '../../test/helpers/identity.ts';

interface AppointmentView {
  id: string;
  patientId: string;
  providerId: string;
  startsAt: string;
  endsAt: string;
  status: string;
  clinicId: string | null;
}
type ErrorBody = { error: { code: string; fields?: { path: string; message: string }[] } };

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('appointment routes: clinics', () => {
  const harness = identityPerTest();
  const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

  async function world(h: IdentityHarness) {
    const clinics = createClinicStore({ db: h.db, audit: h.audit });
    const admin = { actorType: 'user', actorId: (await h.seedStaff('admin')).id } as const;
    const east = await clinics.create({ name: 'East Side Clinic', timeZone: 'America/New_York' }, admin);
    const west = await clinics.create({ name: 'West Side Clinic', timeZone: 'America/Los_Angeles' }, admin);
    const provider = await h.seedStaff('provider');
    const patientId = await h.seedPatient();
    const { token } = await h.staffSession(await h.seedStaff('scheduler'));
    const book = (extra: Record<string, unknown> = {}) =>
      h.call('POST', '/appointments', token, { patientId, providerId: provider.id, startsAt: iso(HOUR), endsAt: iso(2 * HOUR), ...extra });
    return { clinics, admin, east, west, provider, patientId, token, book };
  }

  it('books at a clinic or at none, and shows clinicId in every view', async () => {
    const h = harness();
    const { east, provider, token, book } = await world(h);

    const none = await book();
    expect(none.status).toBe(201);
    expect((await json<AppointmentView>(none)).clinicId).toBeNull();
    expect((await json<AppointmentView>(await book({ clinicId: null }))).clinicId).toBeNull();

    const at = await book({ clinicId: east.id });
    expect(at.status).toBe(201);
    const view = await json<AppointmentView>(at);
    expect(view.clinicId).toBe(east.id);
    expect(await json<AppointmentView>(await h.call('GET', `/appointments/${view.id}`, token))).toEqual(view);
    const listed = await json<{ appointments: AppointmentView[] }>(await h.call('GET', `/appointments?providerId=${provider.id}&from=${encodeURIComponent(iso(0))}&to=${encodeURIComponent(iso(3 * HOUR))}`, token));
    expect(listed.appointments.find((a) => a.id === view.id)?.clinicId).toBe(east.id);
    expect((await h.auditRows('appointment.create')).at(-1)?.details).toMatchObject({ clinicId: east.id });
  });

  it('refuses unknown, archived and malformed clinics with a 400 naming clinicId, booking nothing', async () => {
    const h = harness();
    const { clinics, admin, east, book } = await world(h);
    await clinics.archive(east.id, admin);
    const before = (await h.auditRows('appointment.create')).length;
    for (const [clinicId, path] of [
      [randomUUID(), 'clinicId'],
      [east.id, 'clinicId'],
      ['east', 'body.clinicId'],
    ] as const) {
      const res = await book({ clinicId });
      const err = (await json<ErrorBody>(res)).error;
      expect([res.status, err.code, err.fields?.map((f) => f.path)], clinicId).toEqual([400, 'validation_failed', [path]]);
    }
    expect(await h.auditRows('appointment.create')).toHaveLength(before);
  });

  it('moves an appointment to another clinic when rescheduling, keeps it when clinicId is absent, and takes it off with null', async () => {
    const h = harness();
    const { clinics, admin, east, west, token, book } = await world(h);
    const a = await json<AppointmentView>(await book({ clinicId: east.id }));
    const reschedule = (body: Record<string, unknown>) => h.call('POST', `/appointments/${a.id}/reschedule`, token, { startsAt: iso(24 * HOUR), endsAt: iso(25 * HOUR), ...body });

    const kept = await reschedule({});
    expect(kept.status).toBe(200);
    expect((await json<AppointmentView>(kept)).clinicId).toBe(east.id);
    const moved = await json<AppointmentView>(await reschedule({ clinicId: west.id }));
    expect(moved.clinicId).toBe(west.id);

    await clinics.archive(east.id, admin);
    const refused = await reschedule({ clinicId: east.id });
    const err = (await json<ErrorBody>(refused)).error;
    expect([refused.status, err.fields?.map((f) => f.path)]).toEqual([400, ['clinicId']]);
    expect((await json<AppointmentView>(await h.call('GET', `/appointments/${a.id}`, token))).clinicId).toBe(west.id);

    expect((await json<AppointmentView>(await reschedule({ clinicId: null }))).clinicId).toBeNull();
    expect((await h.auditRows('appointment.update')).map((r) => r.details['clinicId'])).toEqual([undefined, west.id, null]);
  });

  it('documents clinicId in /openapi.json: in the view, and optional when booking and rescheduling', async () => {
    const h = harness();
    type Schema = { properties?: Record<string, { description?: string }>; required?: string[] };
    type Op = { description?: string; requestBody?: { content: Record<string, { schema: Schema }> } };
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, Schema> } };
    const view = doc.components.schemas['Appointment'];
    expect(view?.properties?.['clinicId']).toBeDefined();
    expect(view?.required).toContain('clinicId');
    for (const p of ['/appointments', '/appointments/{id}/reschedule']) {
      const body = doc.paths[p]?.['post']?.requestBody?.content['application/json']?.schema;
      expect(body?.properties?.['clinicId']?.description, p).toMatch(/clinic/);
      expect(body?.required, p).not.toContain('clinicId');
    }
    expect(doc.paths['/appointments/{id}/reschedule']?.['post']?.description).toMatch(/omit it to keep the clinic/);
  });
});

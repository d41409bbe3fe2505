/**
 * Appointments (the minimum the identity layer needs; the reminders issue extends them):
 * schedulers book for any provider; providers book for patients on their care team, as
 * themselves. An appointment may name the clinic (site) it takes place at; rescheduling can move
 * it to another. Reading follows the policy: schedulers, the appointment's provider (or the
 * patient's care team), and the patient's own visit-scoped session.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { Appointment, AppointmentStore } from '../../core/appointments/store.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { auditContext, requireAuth } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export interface AppointmentRouteDeps {
  readonly appointments: AppointmentStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

export const AppointmentSchema = z
  .object({
    id: z.string(),
    patientId: z.string(),
    providerId: z.string(),
    startsAt: z.string(),
    endsAt: z.string(),
    status: z.enum(['scheduled', 'cancelled', 'completed']),
    clinicId: z.string().nullable().openapi({ description: 'The clinic (site) it takes place at; null for none.' }),
  })
  .openapi('Appointment');

export function appointmentView(a: Appointment): z.infer<typeof AppointmentSchema> {
  return { id: a.id, patientId: a.patientId, providerId: a.providerId, startsAt: a.startsAt.toISOString(), endsAt: a.endsAt.toISOString(), status: a.status, clinicId: a.clinicId };
}

export const appointmentResource = (a: Appointment) => ({ type: 'appointment', appointmentId: a.id, patientId: a.patientId, providerId: a.providerId }) as const;

const guarded = { security: [{ session: [] }], tags: ['appointments'] };
const errors = guardedErrors;
const params = z.object({ id: z.uuid() });
const clinicField = (description: string) => z.uuid().nullable().optional().openapi({ description });
const clinicRefused = '`malformed_json` or `validation_failed` (with `fields`; also when `clinicId` names an unknown or archived clinic)';

const create = createRoute({
  ...guarded,
  method: 'post',
  path: '/appointments',
  summary: 'Book an appointment',
  request: {
    body: jsonBody(
      z.strictObject({
        patientId: z.uuid(),
        providerId: z.uuid(),
        startsAt: z.iso.datetime({ offset: true }),
        endsAt: z.iso.datetime({ offset: true }),
        clinicId: clinicField('A live (not archived) clinic the visit takes place at; omit or null for none.'),
      }),
    ),
  },
  responses: { 201: { description: 'Booked', content: { 'application/json': { schema: AppointmentSchema } } }, 409: errorResponse('`conflict`'), ...jsonBodyErrors, 400: errorResponse(clinicRefused), ...errors },
});

const read = createRoute({
  ...guarded,
  method: 'get',
  path: '/appointments/{id}',
  summary: 'Read an appointment',
  request: { params },
  responses: { 200: { description: 'The appointment', content: { 'application/json': { schema: AppointmentSchema } } }, ...errors },
});

const list = createRoute({
  ...guarded,
  method: 'get',
  path: '/appointments',
  summary: 'A provider’s appointments in a time window (providers see their own)',
  request: {
    query: z.object({ providerId: z.uuid().optional(), from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }),
  },
  responses: { 200: { description: 'Appointments', content: { 'application/json': { schema: z.object({ appointments: z.array(AppointmentSchema) }) } } }, 400: errorResponse('`validation_failed`'), ...errors },
});

const cancel = createRoute({
  ...guarded,
  method: 'post',
  path: '/appointments/{id}/cancel',
  summary: 'Cancel an appointment (its visit links stop working)',
  request: { params },
  responses: { 200: { description: 'Cancelled', content: { 'application/json': { schema: AppointmentSchema } } }, ...errors },
});

const reschedule = createRoute({
  ...guarded,
  method: 'post',
  path: '/appointments/{id}/reschedule',
  summary: 'Move an appointment to a new time and, optionally, another clinic (its visit links and pending reminders follow)',
  description:
    'The times are always given (send the current ones to change only the clinic). `clinicId`: omit it to keep the clinic as it is; a clinic id moves the appointment there (a live clinic, as when booking); null takes it off any clinic.',
  request: {
    params,
    body: jsonBody(
      z.strictObject({
        startsAt: z.iso.datetime({ offset: true }),
        endsAt: z.iso.datetime({ offset: true }),
        clinicId: clinicField('Omit to keep the current clinic; a live clinic id to move there; null for none.'),
      }),
    ),
  },
  responses: { 200: { description: 'Rescheduled', content: { 'application/json': { schema: AppointmentSchema } } }, 409: errorResponse('`conflict`: cancelled or completed'), ...jsonBodyErrors, 400: errorResponse(clinicRefused), ...errors },
});

export function appointmentRoutes(deps: AppointmentRouteDeps): RouteModule {
  const { appointments, access } = deps;
  const mw = { middleware: [deps.sessionMw.required] };

  const load = async (id: string): Promise<Appointment> => {
    const a = await appointments.get(id);
    if (a === null) throw new AppError(404, ErrorCode.notFound, 'No such appointment');
    return a;
  };

  return (app) => {
    app.openapi({ ...create, ...mw }, async (c) => {
      const body = c.req.valid('json');
      const auth = requireAuth(c);
      await access.authorize(c, Action.appointmentCreate, { type: 'patient', patientId: body.patientId });
      if (auth.principal.kind === 'staff' && auth.principal.role === 'provider' && body.providerId !== auth.principal.userId) {
        await access.deny(c, Action.appointmentCreate, { type: 'user', userId: body.providerId }, 'relationship');
      }
      const created = await appointments.create(
        { patientId: body.patientId, providerId: body.providerId, startsAt: new Date(body.startsAt), endsAt: new Date(body.endsAt), clinicId: body.clinicId ?? null },
        auditContext(c),
      );
      return c.json(appointmentView(created), 201);
    });

    app.openapi({ ...read, ...mw }, async (c) => {
      const a = await load(c.req.valid('param').id);
      await access.authorize(c, Action.appointmentRead, appointmentResource(a));
      return c.json(appointmentView(a), 200);
    });

    app.openapi({ ...list, ...mw }, async (c) => {
      await access.authorize(c, Action.appointmentList, { type: 'system' });
      const auth = requireAuth(c);
      const q = c.req.valid('query');
      const own = auth.principal.kind === 'staff' && auth.principal.role === 'provider' ? auth.principal.userId : undefined;
      const providerId = own ?? q.providerId;
      if (providerId === undefined) throw new AppError(400, ErrorCode.validation, 'providerId is required', { fields: [{ path: 'query.providerId', message: 'Required' }] });
      if (own !== undefined && q.providerId !== undefined && q.providerId !== own) await access.deny(c, Action.appointmentList, { type: 'user', userId: q.providerId }, 'relationship');
      const found = await appointments.listForProvider(providerId, new Date(q.from), new Date(q.to));
      return c.json({ appointments: found.map(appointmentView) }, 200);
    });

    app.openapi({ ...reschedule, ...mw }, async (c) => {
      const a = await load(c.req.valid('param').id);
      await access.authorize(c, Action.appointmentUpdate, appointmentResource(a));
      const body = c.req.valid('json');
      const move = { startsAt: new Date(body.startsAt), endsAt: new Date(body.endsAt), ...(body.clinicId === undefined ? {} : { clinicId: body.clinicId }) };
      return c.json(appointmentView(await appointments.reschedule(a.id, move, auditContext(c))), 200);
    });

    app.openapi({ ...cancel, ...mw }, async (c) => {
      const a = await load(c.req.valid('param').id);
      await access.authorize(c, Action.appointmentCancel, appointmentResource(a));
      return c.json(appointmentView(await appointments.cancel(a.id, auditContext(c))), 200);
    });
  };
}

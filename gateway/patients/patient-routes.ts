/**
 * Patient records over the API, with minimum-necessary views: providers on the care team (or
 * under break-glass) read the clinical view; schedulers read the contact view (names, channels,
 * time zone — no date of birth, no MRN). Every read of a record is an audited `patient.view`.
 * PHI travels only in bodies, never in URLs (ids are opaque UUIDs).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AuditAction, type AuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { addToCareTeam } from '../../core/identity/care-team.ts';
import { patientInputSchema, patientPatchSchema, type PatientStore } from '../../core/patients/index.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { auditContext, requireAuth } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import { clinicalView, contactView, ClinicalViewSchema, ContactViewSchema } from './views.ts';

export interface PatientRouteDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly patients: PatientStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

const guarded = { security: [{ session: [] }], tags: ['patients'] };
const errors = {
  ...guardedErrors,
  410: errorResponse('`patient_erased`: the record was crypto-shredded'),
} as const;
const params = z.object({ id: z.uuid() });

const create = createRoute({
  ...guarded,
  method: 'post',
  path: '/patients',
  summary: 'Register a patient (fields are encrypted at rest under the patient’s own key)',
  description: 'A provider who registers a patient is put on that patient’s care team.',
  request: { body: jsonBody(patientInputSchema) },
  responses: { 201: { description: 'Registered', content: { 'application/json': { schema: z.object({ id: z.string() }) } } }, ...jsonBodyErrors, ...errors },
});

const read = createRoute({
  ...guarded,
  method: 'get',
  path: '/patients/{id}',
  summary: 'Read a patient: the clinical view for their providers, the contact view for schedulers',
  request: { params },
  responses: {
    200: { description: 'The view the caller may see', content: { 'application/json': { schema: z.union([ClinicalViewSchema, ContactViewSchema]) } } },
    ...errors,
  },
});

const update = createRoute({
  ...guarded,
  method: 'patch',
  path: '/patients/{id}',
  summary: 'Correct a patient’s demographics or contact details',
  request: { params, body: jsonBody(patientPatchSchema) },
  responses: { 204: { description: 'Updated' }, ...jsonBodyErrors, ...errors },
});

const list = createRoute({
  ...guarded,
  method: 'get',
  path: '/patients',
  summary: 'Patients: a provider’s care team, or (schedulers) everyone, newest first',
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50), before: z.string().datetime().optional() }) },
  responses: { 200: { description: 'Contact views', content: { 'application/json': { schema: z.object({ patients: z.array(ContactViewSchema) }) } } }, 400: errorResponse('`validation_failed`'), ...errors },
});

export function patientRoutes(deps: PatientRouteDeps): RouteModule {
  const { patients, access, audit, db } = deps;
  const mw = { middleware: [deps.sessionMw.required] };

  const load = async (id: string) => {
    const patient = await patients.get(id);
    if (patient === null) throw new AppError(404, ErrorCode.notFound, 'No such patient');
    if (patient.erased) throw new AppError(410, 'patient_erased', 'This patient record was erased');
    return patient;
  };

  return (app) => {
    app.openapi({ ...create, ...mw }, async (c) => {
      await access.authorize(c, Action.patientCreate, { type: 'system' });
      const auth = requireAuth(c);
      const ctx = auditContext(c);
      const input = c.req.valid('json');
      const id = await db.transaction(async (tx) => {
        const created = await patients.create(input, ctx, tx);
        if (auth.principal.kind === 'staff' && auth.principal.role === 'provider') {
          await addToCareTeam(tx, auth.principal.userId, created.id, auth.principal.userId);
          await audit.append({ ...ctx, action: AuditAction.careTeamMemberAdd, resourceType: 'care_team', resourceId: auth.principal.userId, patientId: created.id, outcome: 'success' }, tx);
        }
        return created.id;
      });
      return c.json({ id }, 201);
    });

    app.openapi({ ...read, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      const allowed = await access.authorizeFirst(c, [Action.patientReadClinical, Action.patientReadContact], { type: 'patient', patientId: id });
      const patient = await load(id);
      const view = allowed === Action.patientReadClinical ? 'clinical' : 'contact';
      await audit.append({ ...auditContext(c), action: AuditAction.patientView, resourceType: 'patient', resourceId: id, patientId: id, outcome: 'success', details: { view } });
      return c.json(view === 'clinical' ? clinicalView(patient) : contactView(patient), 200);
    });

    app.openapi({ ...update, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      await access.authorize(c, Action.patientUpdate, { type: 'patient', patientId: id });
      await load(id);
      await patients.update(id, c.req.valid('json'), auditContext(c));
      return c.body(null, 204);
    });

    app.openapi({ ...list, ...mw }, async (c) => {
      await access.authorize(c, Action.patientList, { type: 'system' });
      const auth = requireAuth(c);
      const { limit, before } = c.req.valid('query');
      const cutoff = before === undefined ? new Date('9999-12-31T00:00:00Z') : new Date(before);
      const rows =
        auth.principal.kind === 'staff' && auth.principal.role === 'provider'
          ? await db.query<{ id: string }>(
              `SELECT p.id FROM patients p JOIN care_team t ON t.patient_id = p.id
                WHERE t.provider_id = $1 AND p.erased_at IS NULL AND p.created_at < $2 ORDER BY p.created_at DESC LIMIT $3`,
              [auth.principal.userId, cutoff, limit],
            )
          : await db.query<{ id: string }>('SELECT id FROM patients WHERE erased_at IS NULL AND created_at < $1 ORDER BY created_at DESC LIMIT $2', [cutoff, limit]);
      const found = await patients.list(rows.map((r) => r.id));
      const views = found.flatMap((p) => (p.erased ? [] : [contactView(p)]));
      const ctx = auditContext(c);
      // One record per patient shown, written together: one chain lock, one head read, one INSERT
      // (one by one, a 100-row page held the chain for every other writer, sign-ins included).
      if (views.length > 0) {
        await audit.appendMany(
          views.map((v) => ({ ...ctx, action: AuditAction.patientView, resourceType: 'patient', resourceId: v.id, patientId: v.id, outcome: 'success' as const, details: { view: 'contact', list: true } })),
        );
      }
      return c.json({ patients: views }, 200);
    });
  };
}

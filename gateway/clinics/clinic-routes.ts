/**
 * Clinics (sites) over HTTP: admins add and archive them (`clinic.manage`); every staff member
 * lists them (`clinic.list`), to book an appointment at one or aim a reminder campaign at one.
 * A clinic's name is a display name, not PHI; the audit chain still records ids only.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { ClinicInputSchema, type Clinic, type ClinicStore } from '../../core/clinics/store.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { auditContext } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export interface ClinicRouteDeps {
  readonly clinics: ClinicStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

export const ClinicSchema = z
  .object({
    id: z.string(),
    name: z.string().openapi({ description: 'Display name (not PHI); may appear in reminders.', example: 'Riverside Family Medicine' }),
    timeZone: z.string().openapi({ description: 'IANA time zone of the site.', example: 'America/Chicago' }),
    createdAt: z.string(),
    archivedAt: z.string().nullable().openapi({ description: 'Set once archived: no new appointment can name the clinic.' }),
  })
  .openapi('Clinic');

const guarded = { security: [{ session: [] }], tags: ['clinics'] };
const ok = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });

const create = createRoute({
  ...guarded,
  method: 'post',
  path: '/clinics',
  summary: 'Add a clinic (admins)',
  description:
    '`name`: a display name such as "Riverside Family Medicine", trimmed, 1–120 printable characters on one line, unique among live clinics (any letter case). `timeZone`: an IANA time zone such as America/Chicago.',
  request: { body: jsonBody(ClinicInputSchema) },
  responses: { 201: ok('Added', ClinicSchema), 409: errorResponse('`conflict`: a live clinic already has this name'), ...jsonBodyErrors, ...guardedErrors },
});

const list = createRoute({
  ...guarded,
  method: 'get',
  path: '/clinics',
  summary: 'Clinics by name (archived ones only when asked)',
  request: { query: z.object({ includeArchived: z.enum(['true', 'false']).optional().openapi({ description: 'Also list archived clinics. Default false.' }) }) },
  responses: { 200: ok('Clinics', z.object({ clinics: z.array(ClinicSchema) })), 400: errorResponse('`validation_failed`'), ...guardedErrors },
});

const archive = createRoute({
  ...guarded,
  method: 'post',
  path: '/clinics/{id}/archive',
  summary: 'Archive a clinic (admins): its appointments keep it, new ones cannot name it, its name is free again',
  request: { params: z.object({ id: z.uuid() }) },
  responses: { 200: ok('Archived (or already was)', ClinicSchema), ...guardedErrors },
});

export function clinicView(c: Clinic): z.infer<typeof ClinicSchema> {
  return { id: c.id, name: c.name, timeZone: c.timeZone, createdAt: c.createdAt.toISOString(), archivedAt: c.archivedAt?.toISOString() ?? null };
}

export function clinicRoutes(deps: ClinicRouteDeps): RouteModule {
  const { clinics, access } = deps;
  const mw = { middleware: [deps.sessionMw.required] };
  const system = { type: 'system' } as const;

  return (app) => {
    app.openapi({ ...create, ...mw }, async (c) => {
      await access.authorize(c, Action.clinicManage, system);
      const body = c.req.valid('json');
      return c.json(clinicView(await clinics.create({ name: body.name, timeZone: body.timeZone }, auditContext(c))), 201);
    });

    app.openapi({ ...list, ...mw }, async (c) => {
      await access.authorize(c, Action.clinicList, system);
      const found = await clinics.list({ includeArchived: c.req.valid('query').includeArchived === 'true' });
      return c.json({ clinics: found.map(clinicView) }, 200);
    });

    app.openapi({ ...archive, ...mw }, async (c) => {
      await access.authorize(c, Action.clinicManage, system);
      return c.json(clinicView(await clinics.archive(c.req.valid('param').id, auditContext(c))), 200);
    });
  };
}

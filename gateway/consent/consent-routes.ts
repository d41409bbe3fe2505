/**
 * A patient's communication consent over the API: read the current state and full history
 * (`consent.read`), record a change given on a form, verbally or in the portal (`consent.record`).
 * Keyword and unsubscribe-link changes come only from their own endpoints (twilio-webhook.ts,
 * unsubscribe.ts), never from this one. Bodies carry vocabulary and an opaque evidence reference.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { ConsentChannel, ConsentMethod, ConsentPurpose, ConsentState, EVIDENCE_REF_RE, type ConsentLedger, type ConsentRecord } from '../../core/consent/index.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { auditContext } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export interface ConsentRouteDeps {
  readonly ledger: ConsentLedger;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

export const ConsentRecordSchema = z
  .object({
    id: z.string(),
    channel: z.enum(ConsentChannel),
    purpose: z.enum(ConsentPurpose),
    version: z.number().int(),
    state: z.enum(ConsentState),
    method: z.enum(ConsentMethod),
    evidenceRef: z.string().nullable(),
    recordedBy: z.object({ type: z.enum(['user', 'patient', 'system']), id: z.string() }).openapi({ description: 'A user id, or the system component (`sms-keyword`, `unsubscribe-link`).' }),
    recordedAt: z.string(),
  })
  .openapi('ConsentRecord');

export function consentView(r: ConsentRecord): z.infer<typeof ConsentRecordSchema> {
  return {
    id: r.id,
    channel: r.channel,
    purpose: r.purpose,
    version: r.version,
    state: r.state,
    method: r.method,
    evidenceRef: r.evidenceRef,
    recordedBy: { type: r.recordedByType, id: r.recordedBy },
    recordedAt: r.recordedAt.toISOString(),
  };
}

const StaffMethod = { form: ConsentMethod.form, verbal: ConsentMethod.verbal, portal: ConsentMethod.portal } as const;

const ConsentChangeSchema = z
  .strictObject({
    channel: z.enum(ConsentChannel),
    purpose: z.enum(ConsentPurpose),
    state: z.enum(ConsentState),
    method: z.enum(StaffMethod).openapi({ description: '`keyword` and `unsubscribe_link` changes come from the patient’s own SMS or e-mail link only.' }),
    evidenceRef: z
      .string()
      .regex(EVIDENCE_REF_RE, { message: 'expected an opaque reference (letters, digits, . _ : / -; at most 256)' })
      .nullish()
      .openapi({ description: 'Where the consent is on file (a form or document id). Never free text or contact details.', example: 'form-2024-0193' }),
  })
  .openapi('ConsentChange');

const guarded = { security: [{ session: [] }], tags: ['consent'] };
const params = z.object({ id: z.uuid() });

const read = createRoute({
  ...guarded,
  method: 'get',
  path: '/patients/{id}/consent',
  summary: 'A patient’s consent: the current state per channel and purpose, and every recorded change',
  description: 'A channel and purpose with no record has no consent: nothing is sent on it.',
  request: { params },
  responses: {
    200: {
      description: 'Current state and history',
      content: { 'application/json': { schema: z.object({ current: z.array(ConsentRecordSchema), history: z.array(ConsentRecordSchema) }) } },
    },
    ...guardedErrors,
  },
});

const record = createRoute({
  ...guarded,
  method: 'post',
  path: '/patients/{id}/consent',
  summary: 'Record a consent change (granted or revoked) as a new version',
  request: { params, body: jsonBody(ConsentChangeSchema) },
  responses: {
    201: { description: 'Recorded', content: { 'application/json': { schema: ConsentRecordSchema } } },
    409: errorResponse('`conflict`: the patient record was erased'),
    ...jsonBodyErrors,
    ...guardedErrors,
  },
});

export function consentRoutes(deps: ConsentRouteDeps): RouteModule {
  const { ledger, access } = deps;
  const mw = { middleware: [deps.sessionMw.required] };

  return (app) => {
    app.openapi({ ...read, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      await access.authorize(c, Action.consentRead, { type: 'patient', patientId: id });
      const [current, history] = await Promise.all([ledger.current(id), ledger.history(id)]);
      return c.json({ current: current.map(consentView), history: history.map(consentView) }, 200);
    });

    app.openapi({ ...record, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      await access.authorize(c, Action.consentRecord, { type: 'patient', patientId: id });
      const { record: saved } = await ledger.record({ patientId: id, ...body }, auditContext(c));
      return c.json(consentView(saved), 201);
    });
  };
}

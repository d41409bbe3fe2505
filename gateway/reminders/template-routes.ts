/**
 * Reminder templates over HTTP, for schedulers and admins (`template.manage`): save a new version
 * (PHI-linted; a refusal is a 422 whose `fields` name each rule and line:column), list, read a
 * version, and preview — check and render unsaved text with sample values, for live feedback in
 * the editor. Preview answers 200 with its problems instead of an error, and is not audited: it
 * stores nothing and the text is clinic-authored, not patient data.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { RenderFailure, TemplateRenderError, type ReminderText, type TemplateContent, type TemplateProblem } from '../../core/reminders/render.ts';
import { TEMPLATE_LIMITS, type TemplateStore, type TemplateSummary, type TemplateVersion } from '../../core/reminders/templates.ts';
import { TimeWord, canonicalText } from '../../core/reminders/template-text.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { auditContext } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export interface TemplateRouteDeps {
  readonly templates: TemplateStore;
  /** The same ReminderText the store was built with (preview checks and renders with it). */
  readonly text: ReminderText;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

const Channel = z.enum(['sms', 'email']);

const TemplateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    channel: Channel,
    version: z.number().int(),
    subject: z.string().nullable(),
    body: z.string(),
    hash: z.string().openapi({ description: 'SHA-256 (hex) of the canonical content; recorded with every send.' }),
    createdAt: z.string(),
  })
  .openapi('ReminderTemplate');

const SummarySchema = z.object({ id: z.string(), name: z.string(), channel: Channel, latestVersion: z.number().int(), updatedAt: z.string() }).openapi('ReminderTemplateSummary');

const Content = {
  channel: Channel,
  subject: z.string().max(TEMPLATE_LIMITS.maxSubject).nullable().optional(),
  body: z.string().min(1).max(TEMPLATE_LIMITS.maxBody),
};
const SaveBody = z.strictObject({ name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/), ...Content });
const PreviewBody = z.strictObject({ ...Content, timeWord: z.enum(Object.values(TimeWord) as [TimeWord, ...TimeWord[]]).default(TimeWord.tomorrow) });

const ProblemSchema = z.object({ path: z.enum(['subject', 'body']), rule: z.string(), message: z.string(), line: z.number().int().optional(), column: z.number().int().optional() });
const PreviewSchema = z
  .object({
    ok: z.boolean(),
    problems: z.array(ProblemSchema),
    rendered: z
      .object({
        subject: z.string().nullable(),
        text: z.string(),
        html: z.string().nullable(),
        sms: z.object({ encoding: z.enum(['gsm7', 'ucs2']), units: z.number().int(), segments: z.number().int() }).nullable(),
      })
      .nullable(),
  })
  .openapi('ReminderTemplatePreview');

const guarded = { security: [{ session: [] }], tags: ['reminders'] };
const ok = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });

const save = createRoute({
  ...guarded,
  method: 'post',
  path: '/templates',
  summary: 'Save a new version of a reminder template (PHI-linted)',
  request: { body: jsonBody(SaveBody) },
  responses: {
    201: ok('A new version', TemplateSchema),
    200: ok('Unchanged: the latest version already had this content', TemplateSchema),
    409: errorResponse('`template_channel_mismatch`'),
    422: errorResponse('`template_rejected`: `fields` name each rule and line:column'),
    ...jsonBodyErrors,
    ...guardedErrors,
  },
});
const list = createRoute({ ...guarded, method: 'get', path: '/templates', summary: 'Reminder templates and their latest versions', responses: { 200: ok('Templates', z.object({ templates: z.array(SummarySchema) })), ...guardedErrors } });
const read = createRoute({
  ...guarded,
  method: 'get',
  path: '/templates/{id}',
  summary: 'A reminder template version (default: the latest)',
  request: { params: z.object({ id: z.uuid() }), query: z.object({ version: z.coerce.number().int().min(1).max(1_000_000).optional() }) },
  responses: { 200: ok('The version', TemplateSchema), 400: errorResponse('`validation_failed`'), ...guardedErrors },
});
const preview = createRoute({
  ...guarded,
  method: 'post',
  path: '/templates/preview',
  summary: 'Check and render unsaved template text with sample values',
  request: { body: jsonBody(PreviewBody) },
  responses: { 200: ok('Problems (empty when it would save) and the rendered sample', PreviewSchema), ...jsonBodyErrors, ...guardedErrors },
});

const view = (t: TemplateVersion): z.infer<typeof TemplateSchema> => ({
  id: t.id,
  name: t.name,
  channel: t.channel,
  version: t.version,
  subject: t.subject,
  body: t.body,
  hash: t.hash,
  createdAt: t.createdAt.toISOString(),
});
const summaryView = (s: TemplateSummary): z.infer<typeof SummarySchema> => ({ ...s, updatedAt: s.updatedAt.toISOString() });

export function templateRoutes(deps: TemplateRouteDeps): RouteModule {
  const { templates, text, access } = deps;
  const mw = { middleware: [deps.sessionMw.required] };
  const system = { type: 'system' } as const;

  return (app) => {
    app.openapi({ ...save, ...mw }, async (c) => {
      await access.authorize(c, Action.templateManage, system);
      const body = c.req.valid('json');
      const { template, created } = await templates.save({ name: body.name, channel: body.channel, subject: body.subject ?? null, body: body.body }, auditContext(c));
      return created ? c.json(view(template), 201) : c.json(view(template), 200);
    });

    app.openapi({ ...list, ...mw }, async (c) => {
      await access.authorize(c, Action.templateManage, system);
      return c.json({ templates: (await templates.list()).map(summaryView) }, 200);
    });

    app.openapi({ ...read, ...mw }, async (c) => {
      await access.authorize(c, Action.templateManage, system);
      const t = await templates.get(c.req.valid('param').id, c.req.valid('query').version);
      if (t === null) throw new AppError(404, ErrorCode.notFound, 'No such template version');
      return c.json(view(t), 200);
    });

    app.openapi({ ...preview, ...mw }, async (c) => {
      await access.authorize(c, Action.templateManage, system);
      const body = c.req.valid('json');
      const content: TemplateContent = { channel: body.channel, subject: body.subject === undefined || body.subject === null ? null : canonicalText(body.subject), body: canonicalText(body.body) };
      if ((content.channel === 'email') !== (content.subject !== null)) {
        throw new AppError(400, ErrorCode.validation, 'template input failed validation', { fields: [{ path: 'body.subject', message: 'Required for e-mail, absent for SMS' }] });
      }
      const problems: TemplateProblem[] = text.check(content);
      let rendered: z.infer<typeof PreviewSchema>['rendered'] = null;
      try {
        const r = text.render(content, { timeWord: body.timeWord, visitLink: text.sampleVisitLink });
        rendered = { subject: r.subject, text: r.text, html: r.html, sms: r.sms };
      } catch (err) {
        // Already reported by check(); a preview of text that cannot render simply has none.
        if (!(err instanceof TemplateRenderError) || !Object.values(RenderFailure).includes(err.reason)) throw err;
      }
      return c.json({ ok: problems.length === 0, problems, rendered }, 200);
    });
  };
}

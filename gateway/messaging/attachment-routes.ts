/**
 * Encrypted attachments: POST /v1/attachments stores the client-encrypted bytes (≤
 * ATTACHMENT_MAX_BYTES; the gateway raises its body limit for this path only) and answers an
 * unguessable id; GET /v1/attachments/{id} returns them until ATTACHMENT_TTL_DAYS have passed.
 *
 * Who may fetch: any messaging principal (a provider, or a patient's messaging session) holding
 * the id — as with Signal's attachment CDN. The id (122 random bits) reaches recipients only
 * inside an end-to-end-encrypted message, and the bytes are useless without the key that travels
 * with it, so tying reads to a recipient list would add server-side knowledge of who received
 * what without protecting the content. Other roles (schedulers, admins, auditors, visit
 * sessions) are refused as they are for messaging itself.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Config } from '../../core/config/schema.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { AttachmentCreated } from '../../core/protocol/messaging.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action, type Resource } from '../access/policy.ts';
import { requireAuth } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { requestHeader, type AppEnv } from '../app-env.ts';
import { errorResponse, guardedErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import type { AttachmentStore } from './attachment-store.ts';

export interface AttachmentRouteDeps {
  readonly config: Config;
  readonly access: AccessControl;
  readonly sessionMw: SessionMiddleware;
  readonly attachments: AttachmentStore;
}

/** The path prefix whose body limit is ATTACHMENT_MAX_BYTES (see gateway/app.ts). */
export const ATTACHMENT_PATH_PREFIX = '/v1/attachments';
const OCTETS = 'application/octet-stream';
const DAY_MS = 86_400_000;

const guarded = { security: [{ session: [] }], tags: ['messaging'] };
const binary = z.string().openapi({ type: 'string', format: 'binary' });

const upload = createRoute({
  ...guarded,
  method: 'post',
  path: ATTACHMENT_PATH_PREFIX,
  summary: 'Upload an attachment encrypted by the client',
  request: { body: { required: true, content: { [OCTETS]: { schema: binary } } } },
  responses: {
    201: { description: 'Stored', content: { 'application/json': { schema: AttachmentCreated } } },
    ...guardedErrors,
    413: errorResponse('`payload_too_large`: larger than ATTACHMENT_MAX_BYTES'),
    415: errorResponse('`unsupported_media_type`: send application/octet-stream'),
  },
});

const download = createRoute({
  ...guarded,
  method: 'get',
  path: `${ATTACHMENT_PATH_PREFIX}/{id}`,
  summary: 'Download an encrypted attachment by id (404 once expired)',
  request: { params: z.object({ id: z.uuid() }) },
  responses: { 200: { description: 'The encrypted bytes', content: { [OCTETS]: { schema: binary } } }, ...guardedErrors },
});

/** The caller as a messaging peer of itself: allowed exactly for principals that may message. */
function selfPeer(c: Context<AppEnv>): Resource {
  const p = requireAuth(c).principal;
  if (p.kind === 'guest') return { type: 'user', userId: p.userId };
  return { type: 'peer', userId: p.userId, peer: p.kind === 'patient' ? { kind: 'patient', patientId: p.patientId } : { kind: 'staff', role: p.role } };
}

export function attachmentRoutes(deps: AttachmentRouteDeps): RouteModule {
  const { config, access, attachments } = deps;
  const mw = { middleware: [deps.sessionMw.required] };
  const tooLarge = (): AppError => new AppError(413, ErrorCode.payloadTooLarge, `An attachment may be at most ${config.attachmentMaxBytes} bytes`);

  return (app) => {
    app.openapi({ ...upload, ...mw }, async (c) => {
      await access.authorize(c, Action.messageSend, selfPeer(c));
      const type = requestHeader(c, 'content-type')?.split(';')[0]?.trim().toLowerCase();
      if (type !== OCTETS) throw new AppError(415, ErrorCode.unsupportedMediaType, `Send the encrypted bytes as ${OCTETS}`);
      const declared = Number(requestHeader(c, 'content-length'));
      if (declared > config.attachmentMaxBytes) throw tooLarge();
      const bytes = Buffer.from(await c.req.arrayBuffer());
      if (bytes.length > config.attachmentMaxBytes) throw tooLarge();
      const created = await attachments.create(requireAuth(c).principal.userId, bytes, new Date(Date.now() + config.attachmentTtlDays * DAY_MS));
      return c.json({ id: created.id, size: created.size, expiresAt: created.expiresAt.toISOString() }, 201);
    });

    app.openapi({ ...download, ...mw }, async (c) => {
      await access.authorize(c, Action.messageSend, selfPeer(c));
      const bytes = await attachments.get(c.req.valid('param').id);
      if (bytes === null) throw new AppError(404, ErrorCode.notFound, 'No such attachment');
      c.header('content-type', OCTETS);
      c.header('cache-control', 'no-store');
      return c.body(new Uint8Array(bytes), 200);
    });
  };
}

/**
 * The device registry and key directory over HTTP, exactly as core/protocol/messaging.ts
 * documents it: a signed-in provider or messaging patient registers devices and uploads their
 * public keys; a permitted messaging peer fetches bundles (consuming one-time prekeys); admins
 * list and remove any account's devices from the console. Key bytes never reach the audit log.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AuditLog } from '../../core/audit/index.ts';
import type { Config } from '../../core/config/schema.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { StaffRole } from '../../core/identity/principal.ts';
import type { Logger } from '../../core/log/logger.ts';
import { DeviceId, DeviceList, DeviceRegistered, KeyBundleResponse, MessagingErrorCode, PreKeyCount, RegisterDeviceRequest, UploadKeysRequest, UserId } from '../../core/protocol/messaging.ts';
import type { Redis } from '../../core/redis/connect.ts';
import type { AccessControl } from '../access/access-control.ts';
import { accountPeer, Action, ruleFor } from '../access/policy.ts';
import type { AppEnv } from '../app-env.ts';
import { auditContext, requireAuth } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import type { Device } from './device-store.ts';
import { createKeyDirectory, type DeviceOwner, type KeyDirectory, type OnLowKeys } from './key-directory.ts';
import { createUploadLimit } from './upload-limit.ts';

/** When each of this module's codes is returned; the gateway merges it into ERROR_CODE_DOCS. */
export interface KeyRouteDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly config: Pick<Config, 'maxDevicesPerAccount' | 'prekeyLowWatermark'>;
  readonly redis: Redis;
  /** Redis key prefix (tests isolate themselves with a random one). */
  readonly keyPrefix: string;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
  readonly log: Logger;
  /** Told when a fetched device runs low on one-time prekeys (messaging pushes `keys.low`). */
  readonly onLow?: OnLowKeys;
  /** Share one directory with other modules; built from the deps above when absent. */
  readonly directory?: KeyDirectory;
  readonly uploadsPerMinute?: number;
}

const guarded = { security: [{ session: [] }], tags: ['messaging keys'] };
const ownDevice = z.object({ deviceId: z.coerce.number().pipe(DeviceId) });
const keyErrors = {
  ...jsonBodyErrors,
  400: errorResponse('`malformed_json`, `validation_failed`, `invalid_key`, `invalid_signature` (the message names the key) or `identity_key_changed`'),
} as const;

const register = createRoute({
  ...guarded,
  method: 'post',
  path: '/v1/devices',
  summary: 'Register a messaging device with its public keys',
  description: 'Every key is parsed and every signature verified before anything is stored. The device gets the lowest free id.',
  request: { body: jsonBody(RegisterDeviceRequest) },
  responses: { 201: { description: 'Registered', content: { 'application/json': { schema: DeviceRegistered } } }, ...guardedErrors, ...keyErrors, 409: errorResponse('`device_limit`') },
});

const listOwn = createRoute({
  ...guarded,
  method: 'get',
  path: '/v1/devices',
  summary: 'The session account’s devices',
  responses: { 200: { description: 'Devices', content: { 'application/json': { schema: DeviceList } } }, ...guardedErrors },
});

const removeOwn = createRoute({
  ...guarded,
  method: 'delete',
  path: '/v1/devices/{deviceId}',
  summary: 'Remove one of the session account’s devices, with its keys and undelivered messages',
  request: { params: ownDevice },
  responses: { 204: { description: 'Removed' }, ...guardedErrors, 404: errorResponse('`device_not_found`') },
});

const upload = createRoute({
  ...guarded,
  method: 'put',
  path: '/v1/devices/{deviceId}/keys',
  summary: 'Replenish one-time prekeys, or rotate the signed / last-resort prekeys',
  description: 'The identity key must be the registered one. One-time keys with an existing id replace it. Rate limited per device.',
  request: { params: ownDevice, body: jsonBody(UploadKeysRequest) },
  responses: { 204: { description: 'Stored' }, ...guardedErrors, ...keyErrors, 404: errorResponse('`device_not_found`'), 429: errorResponse('`rate_limited`: wait for Retry-After') },
});

const count = createRoute({
  ...guarded,
  method: 'get',
  path: '/v1/devices/{deviceId}/keys/count',
  summary: 'How many one-time prekeys of each kind the device has left',
  request: { params: ownDevice },
  responses: { 200: { description: 'Counts', content: { 'application/json': { schema: PreKeyCount } } }, ...guardedErrors, 404: errorResponse('`device_not_found`') },
});

const bundles = createRoute({
  ...guarded,
  method: 'get',
  path: '/v1/keys/{userId}/{deviceId}',
  summary: 'Fetch key bundles of a messaging peer: one device, or `*` for all',
  description: 'Each bundle consumes one one-time EC prekey (absent when none is left) and one one-time Kyber prekey (the last-resort one when none is left).',
  request: { params: z.object({ userId: UserId, deviceId: z.union([z.literal('*'), z.coerce.number().pipe(DeviceId)]) }) },
  responses: { 200: { description: 'Bundles', content: { 'application/json': { schema: KeyBundleResponse } } }, ...guardedErrors, 404: errorResponse('`not_found`: no such account, or it has no such device') },
});

const adminParams = z.object({ userId: z.uuid() });
const adminList = createRoute({
  ...guarded,
  tags: ['admin'],
  method: 'get',
  path: '/admin/users/{userId}/devices',
  summary: 'An account’s messaging devices',
  request: { params: adminParams },
  responses: { 200: { description: 'Devices', content: { 'application/json': { schema: DeviceList } } }, ...guardedErrors },
});

const adminRemove = createRoute({
  ...guarded,
  tags: ['admin'],
  method: 'delete',
  path: '/admin/users/{userId}/devices/{deviceId}',
  summary: 'Remove an account’s device (lost or compromised), with its keys and undelivered messages',
  request: { params: adminParams.extend(ownDevice.shape) },
  responses: { 204: { description: 'Removed' }, ...guardedErrors, 404: errorResponse('`not_found` or `device_not_found`') },
});

const deviceInfo = (d: Device) => ({
  deviceId: d.deviceId,
  registrationId: d.registrationId,
  label: d.label,
  createdAt: d.createdAt.toISOString(),
  lastSeenAt: d.lastSeenAt.toISOString(),
});

const deviceNotFound = () => new AppError(404, MessagingErrorCode.deviceNotFound, 'No such device');

interface UserRow {
  kind: 'staff' | 'patient';
  role: StaffRole | null;
  patient_id: string | null;
  status: 'active' | 'disabled';
}

export function keyRoutes(deps: KeyRouteDeps): RouteModule {
  const { db, access } = deps;
  const directory = deps.directory ?? createKeyDirectory({ db, audit: deps.audit, config: deps.config, log: deps.log, ...(deps.onLow === undefined ? {} : { onLow: deps.onLow }) });
  const limit = createUploadLimit(deps.redis, { keyPrefix: deps.keyPrefix, ...(deps.uploadsPerMinute === undefined ? {} : { perMinute: deps.uploadsPerMinute }) });
  const mw = { middleware: [deps.sessionMw.required] };

  const lookupUser = async (userId: string): Promise<UserRow | null> => {
    const [row] = await db.query<UserRow>('SELECT kind, role, patient_id, status FROM users WHERE id = $1', [userId]);
    return row ?? null;
  };

  /** The session's own account, after the device-management check. */
  const self = async (c: Context<AppEnv>): Promise<DeviceOwner> => {
    const { principal } = requireAuth(c);
    await access.authorize(c, Action.deviceManage, { type: 'user', userId: principal.userId });
    return { userId: principal.userId, patientId: principal.kind === 'patient' ? principal.patientId : null };
  };

  const ownDeviceOf = async (owner: DeviceOwner, deviceId: number): Promise<Device> => {
    const device = await directory.devices.get(owner.userId, deviceId);
    if (device === null) throw deviceNotFound();
    return device;
  };

  /** For the admin console: the account after the user-management check; 404 when unknown. */
  const adminTarget = async (c: Context<AppEnv>, userId: string): Promise<DeviceOwner> => {
    await access.authorize(c, Action.userManage, { type: 'user', userId });
    const user = await lookupUser(userId);
    if (user === null) throw new AppError(404, ErrorCode.notFound, 'No such account');
    return { userId, patientId: user.patient_id };
  };

  return (app) => {
    app.openapi({ ...register, ...mw }, async (c) => {
      const owner = await self(c);
      const deviceId = await directory.register(owner, c.req.valid('json'), auditContext(c));
      return c.json({ deviceId }, 201);
    });

    app.openapi({ ...listOwn, ...mw }, async (c) => {
      const owner = await self(c);
      return c.json({ devices: (await directory.devices.list(owner.userId)).map(deviceInfo) }, 200);
    });

    app.openapi({ ...removeOwn, ...mw }, async (c) => {
      const owner = await self(c);
      if (!(await directory.remove(owner, c.req.valid('param').deviceId, auditContext(c)))) throw deviceNotFound();
      return c.body(null, 204);
    });

    app.openapi({ ...upload, ...mw }, async (c) => {
      const owner = await self(c);
      const { deviceId } = c.req.valid('param');
      await ownDeviceOf(owner, deviceId);
      await limit.consume(owner.userId, deviceId);
      await directory.upload(owner, deviceId, c.req.valid('json'), auditContext(c));
      return c.body(null, 204);
    });

    app.openapi({ ...count, ...mw }, async (c) => {
      const owner = await self(c);
      const { deviceId } = c.req.valid('param');
      await ownDeviceOf(owner, deviceId);
      await directory.devices.touch(owner.userId, deviceId);
      return c.json(await directory.counts(owner.userId, deviceId), 200);
    });

    app.openapi({ ...bundles, ...mw }, async (c) => {
      const { userId, deviceId } = c.req.valid('param');
      const { principal } = requireAuth(c);
      // Roles that may never message are refused before the lookup, so they cannot probe which accounts exist.
      if (ruleFor(principal, Action.messageSend) === undefined) await access.deny(c, Action.messageSend, { type: 'user', userId }, 'role');
      const user = await lookupUser(userId);
      const peer = user === null ? null : accountPeer(user);
      const notFound = () => new AppError(404, ErrorCode.notFound, 'No such account or device');
      if (peer === null) throw notFound();
      await access.authorize(c, Action.messageSend, { type: 'peer', userId, peer });
      const devices = await directory.fetchBundles(userId, deviceId);
      if (devices.length === 0) throw notFound();
      return c.json({ userId, devices }, 200);
    });

    app.openapi({ ...adminList, ...mw }, async (c) => {
      const owner = await adminTarget(c, c.req.valid('param').userId);
      return c.json({ devices: (await directory.devices.list(owner.userId)).map(deviceInfo) }, 200);
    });

    app.openapi({ ...adminRemove, ...mw }, async (c) => {
      const { userId, deviceId } = c.req.valid('param');
      const owner = await adminTarget(c, userId);
      if (!(await directory.remove(owner, deviceId, auditContext(c), { byAdmin: true }))) throw deviceNotFound();
      return c.body(null, 204);
    });
  };
}

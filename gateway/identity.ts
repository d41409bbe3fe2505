/**
 * Builds the identity and access layer from the process's shared pieces (config, database,
 * Redis, audit log, master keyring): sessions, sign-in, the access policy, the patient, visit,
 * enrollment and break-glass services, and their route modules. The composition root calls
 * this once; tests build it the same way against real Redis and databases.
 */
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { AuditLog } from '../core/audit/index.ts';
import type { Config } from '../core/config/schema.ts';
import { createMasterSealer, createPatientCipher, type MasterKeyring } from '../core/crypto/index.ts';
import type { Db } from '../core/db/types.ts';
import { createUserStore } from '../core/identity/user-store.ts';
import type { Logger } from '../core/log/logger.ts';
import { createPatientStore } from '../core/patients/index.ts';
import { createContactIndex } from '../core/consent/index.ts';
import type { Redis } from '../core/redis/connect.ts';
import { createAppointmentStore } from '../core/appointments/store.ts';
import { createAccessControl } from './access/access-control.ts';
import { createBreakGlass } from './access/break-glass.ts';
import { breakGlassRoutes } from './access/break-glass-routes.ts';
import { adminRoutes } from './admin/admin-routes.ts';
import { adminViewRoutes } from './admin/admin-view-routes.ts';
import { auditRoutes } from './audit/audit-routes.ts';
import { authRoutes } from './auth/auth-routes.ts';
import { presentedToken } from './auth/credentials.ts';
import { createEnrollment } from './auth/enrollment.ts';
import { enrollmentRoutes } from './auth/enrollment-routes.ts';
import { createChallengeStore } from './auth/login-challenge.ts';
import { createLoginThrottle } from './auth/login-throttle.ts';
import { createRedeemThrottle } from './auth/redeem-throttle.ts';
import { createRefusalAudit } from './auth/refusal-audit.ts';
import { createSessionMiddleware } from './auth/session-middleware.ts';
import { createSessionStore, type Session } from './auth/sessions/session-store.ts';
import { createStaffLogin } from './auth/staff-login.ts';
import { patientRoutes } from './patients/patient-routes.ts';
import type { RouteModule } from './route-module.ts';
import { appointmentRoutes } from './visits/appointment-routes.ts';
import { addressOf } from './http/forwarded.ts';
import { visitLinkRoutes } from './visits/visit-link-routes.ts';
import { createVisitLinks } from './visits/visit-links.ts';

export interface IdentityDeps {
  readonly config: Config;
  readonly db: Db;
  readonly redis: Redis;
  readonly log: Logger;
  readonly audit: AuditLog;
  readonly keyring: MasterKeyring;
  /** Public keys that verify audit checkpoints (GET /audit/verify). */
  readonly checkpointKeys: readonly KeyObject[];
  /** The URL this process listens on (known once listening); PUBLIC_URL wins for links and allowed origins. */
  readonly listenUrl: () => string;
  /** Redis key prefix (tests isolate themselves with a random one). */
  readonly keyPrefix?: string;
}

/** Browser origins allowed to send cookie-authenticated writes and open WebSockets. */
export function allowedOriginsOf(config: Config, listenUrl: string): ReadonlySet<string> {
  const origins = new Set<string>();
  if (config.publicUrl !== undefined) origins.add(new URL(config.publicUrl).origin);
  else origins.add(new URL(listenUrl).origin);
  for (const o of config.allowedOrigins ?? []) origins.add(new URL(o).origin);
  return origins;
}

export function createIdentity(deps: IdentityDeps) {
  const { config, db, redis, audit, log } = deps;
  const keyPrefix = deps.keyPrefix ?? 'th:';
  let origins: ReadonlySet<string> | undefined;
  const originAllowed = (origin: string): boolean => (origins ??= allowedOriginsOf(config, deps.listenUrl())).has(origin);
  const publicOrigin = (): string => new URL(config.publicUrl ?? deps.listenUrl()).origin;

  const sessions = createSessionStore({
    redis,
    audit,
    log,
    idleTimeoutMs: config.sessionIdleTimeoutSec * 1000,
    absoluteTimeoutMs: config.sessionAbsoluteTimeoutSec * 1000,
    keyPrefix,
  });
  const users = createUserStore(db);
  const sealer = createMasterSealer(deps.keyring);
  const cipher = createPatientCipher({ db, keyring: deps.keyring });
  const throttle = createLoginThrottle({ redis, config, keyPrefix: `${keyPrefix}login:` });
  const challenges = createChallengeStore({ redis, keyPrefix: `${keyPrefix}challenge:` });
  const staffLogin = createStaffLogin({ db, users, throttle, challenges, sealer, audit, issuer: 'Telehealth' });
  const breakGlass = createBreakGlass({ db, audit, cipher, minutes: config.breakGlassMinutes });
  const access = createAccessControl({ db, audit, breakGlass });
  const refusals = createRefusalAudit(audit);
  const sessionMw = createSessionMiddleware({ sessions, refusals, originAllowed });
  const contacts = createContactIndex({ db, keyring: deps.keyring });
  const patients = createPatientStore({ db, cipher, audit, contacts });
  const appointments = createAppointmentStore({ db, audit });
  const visitLinks = createVisitLinks({ db, audit, leadMinutes: config.visitLinkLeadMinutes });
  const enrollment = createEnrollment({ db, audit, ttlHours: config.enrollmentCodeTtlHours });
  const redeemThrottle = createRedeemThrottle(redis, { keyPrefix });

  const routes: RouteModule[] = [
    (app) => {
      app.openAPIRegistry.registerComponent('securitySchemes', 'session', {
        type: 'http',
        scheme: 'bearer',
        description:
          'A session token: `Authorization: Bearer <token>` (SDK, CLI), or the `__Host-th_session` cookie set at sign-in (browsers; send the session’s X-CSRF-Token header on writes).',
      });
    },
    authRoutes({ staffLogin, sessions, sessionMw, access }),
    adminRoutes({ db, audit, users, sessions, sessionMw, access, throttle }),
    adminViewRoutes({ db, users, sessionMw, access, throttle }),
    patientRoutes({ db, audit, patients, sessionMw, access }),
    enrollmentRoutes({ enrollment, sessions, sessionMw, access, throttle: redeemThrottle }),
    appointmentRoutes({ appointments, sessionMw, access }),
    visitLinkRoutes({ config, db, appointments, visitLinks, sessions, sessionMw, access, throttle: redeemThrottle, publicOrigin }),
    breakGlassRoutes({ db, audit, breakGlass, staffLogin, sessions, sessionMw, access }),
    auditRoutes({ db, audit, sessionMw, access, checkpointKeys: deps.checkpointKeys }),
  ];

  /**
   * WebSocket upgrade authentication: the same credentials as HTTP, without counting as activity.
   * A presented but refused credential is audited like on HTTP.
   */
  const authenticateUpgrade = async (req: IncomingMessage): Promise<Session | undefined> => {
    const credential = presentedToken(req.headers);
    if (credential === undefined) return undefined;
    const session = credential === null ? undefined : await sessions.authenticate(credential.token, { touch: false });
    if (session === undefined) {
      const ip = addressOf(req, config.trustProxy);
      await refusals.record(
        { actorType: 'anonymous', actorId: null, ip: isIP(ip) === 0 ? null : ip },
        { reason: credential === null ? 'malformed_credential' : 'session_invalid', credential: credential?.token ?? 'malformed', sessionId: null, channel: 'websocket' },
      );
    }
    return session;
  };

  return { contacts, sessions, sessionMw, users, staffLogin, throttle, access, patients, appointments, visitLinks, enrollment, breakGlass, cipher, sealer, routes, originAllowed, authenticateUpgrade };
}

export type Identity = ReturnType<typeof createIdentity>;

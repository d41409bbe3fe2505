/**
 * Test support for identity and access tests: a gateway app with every identity route module,
 * built the way the composition root builds it, on a real database and real Redis (a random key
 * prefix isolates each harness), plus shortcuts to seed staff (password + enrolled TOTP),
 * patients, care teams, appointments and sessions. Not a test file; not used in production.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { createAuditLog, type AuditLog, type AuditRecord } from '../../core/audit/index.ts';
import type { Config } from '../../core/config/schema.ts';
import { createMasterKeyring, generateMasterKey, totpSecretAad } from '../../core/crypto/index.ts';
import type { Db } from '../../core/db/types.ts';
import { addToCareTeam as insertCareTeam } from '../../core/identity/care-team.ts';
import { ensurePatientPrincipal } from '../../core/identity/patient-principal.ts';
import type { PatientScope, StaffRole } from '../../core/identity/principal.ts';
import type { Redis } from '../../core/redis/connect.ts';
import { hashPassword } from '../auth/password.ts';
import { generateSecret } from '../auth/totp.ts';
import { createIdentity, type Identity } from '../identity.ts';
import type { RouteModule } from '../route-module.ts';
import { testApp, testConfig } from './harness.ts';

export interface SeededStaff {
  readonly id: string;
  readonly username: string;
  readonly password: string;
  readonly totpSecret: string;
  readonly role: StaffRole;
}

export const STAFF_PASSWORD = 'correct horse battery staple 42';

export async function totpCode(secret: string, at: Date = new Date()): Promise<string> {
  return generate({ secret, epoch: Math.floor(at.getTime() / 1000) });
}

export interface IdentityHarnessOptions {
  readonly db: Db;
  readonly redis: Redis;
  readonly env?: Readonly<Record<string, string>>;
  readonly config?: Config;
  /** Further route modules mounted after the identity ones (a feature under test), built from the same identity. */
  readonly routes?: (identity: Identity, shared: { readonly audit: AuditLog; readonly config: Config; readonly db: Db }) => readonly RouteModule[];
}

export function identityHarness(opts: IdentityHarnessOptions) {
  const { db, redis } = opts;
  const config = opts.config ?? testConfig(opts.env ?? {});
  const audit = createAuditLog(db);
  const keyring = createMasterKeyring(generateMasterKey());
  const checkpointKey = generateKeyPairSync('ed25519').publicKey;
  const identity = createIdentity({ config, db, redis, log: testApp().logs.log, audit, keyring, checkpointKeys: [checkpointKey], listenUrl: () => 'http://127.0.0.1:8080', keyPrefix: `test-${randomUUID()}:` });
  const { app, logs } = testApp({ config, modules: [...identity.routes, ...(opts.routes?.(identity, { audit, config, db }) ?? [])] });

  const seedStaff = async (role: StaffRole, username = `${role.replace('_', '-')}-${randomUUID().slice(0, 8)}`): Promise<SeededStaff> => {
    const user = await identity.users.createStaff({ username, displayName: `Test ${role}`, role, passwordHash: await hashPassword(STAFF_PASSWORD), createdBy: null });
    const totpSecret = generateSecret();
    const sealed = identity.sealer.seal(Buffer.from(totpSecret, 'utf8'), totpSecretAad(user.id));
    await identity.users.startTotpEnrollment(user.id, sealed);
    await identity.users.confirmTotpEnrollment(user.id, 0, sealed);
    return { id: user.id, username: user.username, password: STAFF_PASSWORD, totpSecret, role };
  };

  const seedPatient = async (fields: { givenName?: string; familyName?: string } = {}): Promise<string> => {
    const { id } = await identity.patients.create(
      { givenName: fields.givenName ?? 'Ada', familyName: fields.familyName ?? 'Lovelace', birthDate: '1990-04-01', phone: '+15555550123', email: 'ada@example.org', mrn: 'MRN-1', timeZone: 'America/New_York' },
      { actorType: 'system', actorId: 'test' },
    );
    return id;
  };

  const addToCareTeam = async (providerId: string, patientId: string): Promise<void> => {
    await insertCareTeam(db, providerId, patientId, null);
  };

  const seedAppointment = async (patientId: string, providerId: string, startsInMin = 5, lengthMin = 30) => {
    const startsAt = new Date(Date.now() + startsInMin * 60_000);
    return identity.appointments.create({ patientId, providerId, startsAt, endsAt: new Date(startsAt.getTime() + lengthMin * 60_000) }, { actorType: 'system', actorId: 'test' });
  };

  const staffSession = async (staff: { id: string; role: StaffRole }) => identity.sessions.create({ kind: 'staff', userId: staff.id, role: staff.role, patientId: null, scope: null, appointmentId: null });

  const patientSession = async (patientId: string, scope: PatientScope, appointmentId: string | null = null) => {
    const { id: userId } = await ensurePatientPrincipal(db, patientId);
    return identity.sessions.create({ kind: 'patient', userId, role: null, patientId, scope, appointmentId });
  };

  const auditRows = async (action?: string): Promise<AuditRecord[]> =>
    action === undefined ? db.query<AuditRecord>('SELECT * FROM audit_log ORDER BY seq') : db.query<AuditRecord>('SELECT * FROM audit_log WHERE action = $1 ORDER BY seq', [action]);

  /** A request with a bearer token (no CSRF needed) and a JSON body. */
  const call = async (method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    app.request(path, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  return { app, logs, config, identity, audit, seedStaff, seedPatient, addToCareTeam, seedAppointment, staffSession, patientSession, auditRows, call, close: () => identity.sessions.close() };
}

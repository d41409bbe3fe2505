/**
 * GET /v1/contacts: the people the signed-in account may message, so a client offers names to
 * pick instead of asking for a user id. Candidates come from the directory — other active
 * providers and the caller's care team — and each one is then confirmed by the same pure policy
 * that guards sending (`message.send`, rule `messagingPeer`), given the care-team fact the query
 * established and never a break-glass grant: emergency access is for one patient in one
 * emergency, not a standing entry in a contact list. A patient appears only once enrolled for
 * messaging (they have a patient principal), and never once their record was erased.
 *
 * A provider's list names patients, decrypted from their records: that is a read of PHI, audited
 * like the patients list (one `patient.view` per listed patient, ids only, in one transaction,
 * before the answer leaves). A patient's list holds staff display names, which are not PHI.
 * Roles that never message are refused (403, audited) like on the other messaging routes.
 * Bounded to MAX_CONTACTS, sorted by display name.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AuditAction, AuditOutcome, type AuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import type { Principal } from '../../core/identity/principal.ts';
import { MAX_LIST_IDS, type PatientStore } from '../../core/patients/index.ts';
import type { AccessControl } from '../access/access-control.ts';
import { accountPeer, Action, decide, type AccountRow, type Resource } from '../access/policy.ts';
import { auditContext, requireAuth } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { guardedErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

/** Most contacts in one answer: the patients' names are decrypted in one getMany call, bounded the same. */
export const MAX_CONTACTS = MAX_LIST_IDS;

export interface ContactRouteDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly patients: PatientStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

export const ContactSchema = z
  .object({
    userId: z.uuid(),
    kind: z.enum(['provider', 'patient']),
    displayName: z.string().openapi({ description: 'A provider’s staff display name; a patient’s given and family name (from the encrypted record).' }),
    hasDevice: z.boolean().openapi({ description: 'At least one messaging device is registered: a message can be delivered now.' }),
  })
  .openapi('MessagingContact');
export type Contact = z.infer<typeof ContactSchema>;

export const ContactListSchema = z.object({
  contacts: z.array(ContactSchema).max(MAX_CONTACTS),
  truncated: z.boolean().openapi({ description: `More than ${MAX_CONTACTS} people qualified; the others can still be messaged by user id.` }),
});

const list = createRoute({
  security: [{ session: [] }],
  tags: ['messaging'],
  method: 'get',
  path: '/v1/contacts',
  summary: 'Who you may message: other providers and your care team’s enrolled patients (providers), or your care team’s providers (patients)',
  description: 'Never lists a patient reachable only under break-glass. A provider’s answer names patients and is audited as `patient.view` per listed patient.',
  responses: { 200: { description: `Contacts by display name, at most ${MAX_CONTACTS}`, content: { 'application/json': { schema: ContactListSchema } } }, ...guardedErrors },
});

interface Candidate extends AccountRow {
  readonly user_id: string;
  readonly display_name: string | null;
  readonly has_device: boolean;
}

const COLUMNS = `u.id AS user_id, u.kind, u.role, u.patient_id, u.status, u.display_name,
       EXISTS (SELECT 1 FROM devices AS d WHERE d.user_id = u.id) AS has_device`;

/** Other active providers: any provider may message any other. */
const PROVIDERS = `SELECT ${COLUMNS} FROM users AS u
  WHERE u.kind = 'staff' AND u.role = 'provider' AND u.status = 'active' AND u.id <> $1
  ORDER BY u.display_name, u.id LIMIT $2`;

/** The provider's care-team patients who have a messaging account and a record not erased. */
const MY_PATIENTS = `SELECT ${COLUMNS} FROM care_team AS t
  JOIN users AS u ON u.patient_id = t.patient_id AND u.kind = 'patient'
  JOIN patients AS p ON p.id = t.patient_id
  WHERE t.provider_id = $1 AND u.status = 'active' AND p.erased_at IS NULL
  ORDER BY t.added_at DESC, u.id LIMIT $2`;

/** The patient's care-team providers. */
const MY_PROVIDERS = `SELECT ${COLUMNS} FROM care_team AS t
  JOIN users AS u ON u.id = t.provider_id
  WHERE t.patient_id = $1 AND u.kind = 'staff' AND u.role = 'provider' AND u.status = 'active'
  ORDER BY u.display_name, u.id LIMIT $2`;

/** The candidates the policy lets `p` message; `careTeam` is what the query that found them established. */
function allowed(p: Principal, rows: readonly Candidate[], careTeam: boolean): Candidate[] {
  return rows.filter((r) => {
    const peer = accountPeer(r);
    if (peer === null || r.user_id === p.userId) return false;
    return decide(p, Action.messageSend, { type: 'peer', userId: r.user_id, peer }, { careTeam, breakGlassId: null }).allow;
  });
}

/** A contact as listed, with the patient record it names (for the audit record; never answered). */
type Listed = Contact & { readonly patientId: string | null };

export function contactRoutes(deps: ContactRouteDeps): RouteModule {
  const { db, audit, patients, access } = deps;

  const staffContact = (r: Candidate): Listed => ({ userId: r.user_id, kind: 'provider', displayName: r.display_name ?? 'Provider', hasDevice: r.has_device, patientId: null });

  /** Names from the encrypted records; a record erased since the query is left out. */
  const patientContacts = async (rows: readonly Candidate[]): Promise<Listed[]> => {
    const byPatient = new Map(rows.flatMap((r) => (r.patient_id === null ? [] : [[r.patient_id, r] as const])));
    const records = await patients.getMany([...byPatient.keys()]);
    return records.flatMap((rec) => {
      const r = byPatient.get(rec.id);
      if (rec.erased || r === undefined) return [];
      return [{ userId: r.user_id, kind: 'patient' as const, displayName: `${rec.givenName} ${rec.familyName}`, hasDevice: r.has_device, patientId: rec.id }];
    });
  };

  /** Everyone `p` may message, unsorted, and whether a query found more than MAX_CONTACTS. */
  const candidates = async (p: Principal): Promise<{ listed: Listed[]; truncated: boolean }> => {
    const limit = MAX_CONTACTS + 1;
    if (p.kind === 'patient') {
      const rows = await db.query<Candidate>(MY_PROVIDERS, [p.patientId, limit]);
      return { listed: allowed(p, rows.slice(0, MAX_CONTACTS), true).map(staffContact), truncated: rows.length > MAX_CONTACTS };
    }
    const [providers, mine] = await Promise.all([db.query<Candidate>(PROVIDERS, [p.userId, limit]), db.query<Candidate>(MY_PATIENTS, [p.userId, limit])]);
    const named = await patientContacts(allowed(p, mine.slice(0, MAX_CONTACTS), true));
    return { listed: [...allowed(p, providers.slice(0, MAX_CONTACTS), false).map(staffContact), ...named], truncated: providers.length > MAX_CONTACTS || mine.length > MAX_CONTACTS };
  };

  return (app) => {
    app.openapi({ ...list, middleware: [deps.sessionMw.required] }, async (c) => {
      const p = requireAuth(c).principal;
      await access.authorize(c, Action.messageSend, selfPeer(p));
      const found = await candidates(p);
      const sorted = found.listed.sort((a, b) => a.displayName.localeCompare(b.displayName) || a.userId.localeCompare(b.userId));
      const listed = sorted.slice(0, MAX_CONTACTS);
      const ctx = auditContext(c);
      await audit.appendMany(
        listed.flatMap((x) =>
          x.patientId === null
            ? []
            : [{ ...ctx, action: AuditAction.patientView, resourceType: 'patient', resourceId: x.patientId, patientId: x.patientId, outcome: AuditOutcome.success, details: { view: 'name', list: true, source: 'contacts' } }],
        ),
      );
      const contacts: Contact[] = listed.map((x) => ({ userId: x.userId, kind: x.kind, displayName: x.displayName, hasDevice: x.hasDevice }));
      return c.json({ contacts, truncated: found.truncated || sorted.length > MAX_CONTACTS }, 200);
    });
  };
}

/** The caller as a messaging peer of itself: authorized exactly for the principals that may message at all. */
function selfPeer(p: Principal): Resource {
  if (p.kind === 'guest') return { type: 'user', userId: p.userId };
  return { type: 'peer', userId: p.userId, peer: p.kind === 'patient' ? { kind: 'patient', patientId: p.patientId } : { kind: 'staff', role: p.role } };
}

/**
 * Staff accounts in the `users` table (kind = 'staff'): creation with validated names, role and
 * status changes, password hashes, TOTP enrollment, replay-proof acceptance of TOTP steps and
 * single-use recovery codes. Views never carry the password hash or TOTP secret; only
 * `getCredentials` does, for the login service. Auditing is the caller's job (pass `tx` to make a
 * change and its audit record commit together).
 */
import { randomUUID } from 'node:crypto';
import { isUuid } from '../ids.ts';
import type { Db, Sql } from '../db/types.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { STAFF_ROLES, type StaffRole } from './principal.ts';

export const UserStatus = { active: 'active', disabled: 'disabled' } as const;
export type UserStatus = (typeof UserStatus)[keyof typeof UserStatus];

export const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{2,63}$/;
const DISPLAY_NAME_MAX = 128;

/** What routes and the CLI see of a staff member. */
export interface StaffUser {
  readonly id: string;
  readonly kind: 'staff';
  readonly username: string;
  readonly displayName: string;
  readonly role: StaffRole;
  readonly status: UserStatus;
  readonly mfaEnrolled: boolean;
  readonly mfaEnrolledAt: Date | null;
  readonly passwordChangedAt: Date | null;
  readonly createdBy: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Secrets for the login service only. `totpSecret` is a MasterSealer ciphertext (aad `user:<id>:totp`). */
export interface StaffCredentials {
  readonly userId: string;
  readonly username: string;
  readonly role: StaffRole;
  readonly status: UserStatus;
  readonly passwordHash: string | null;
  readonly totpSecret: Buffer | null;
  readonly mfaEnrolledAt: Date | null;
  readonly totpLastStep: number | null;
}

export interface NewStaff {
  readonly username: string;
  readonly displayName: string;
  readonly role: StaffRole;
  readonly passwordHash: string;
  readonly createdBy: string | null;
}

/** The username is taken (the route answers 409). */
export class UsernameTakenError extends AppError {
  constructor() {
    super(409, ErrorCode.conflict, 'That username is already in use', { fields: [{ path: 'username', message: 'Already in use' }] });
    this.name = 'UsernameTakenError';
  }
}

/** Lower-cased, trimmed; null when it is not a valid staff username. */
export function normalizeUsername(input: string): string | null {
  if (input.length > 256) return null;
  const u = input.trim().toLowerCase();
  return USERNAME_RE.test(u) ? u : null;
}

function invalid(path: string, message: string): AppError {
  return new AppError(400, ErrorCode.validation, 'Invalid staff user', { fields: [{ path, message }] });
}

function checkDisplayName(input: string): string {
  const name = input.trim();
  if (name.length < 1 || name.length > DISPLAY_NAME_MAX) throw invalid('displayName', `1-${DISPLAY_NAME_MAX} characters`);
  return name;
}

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  role: StaffRole;
  status: UserStatus;
  mfa_enrolled_at: Date | null;
  password_changed_at: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const VIEW_COLUMNS = 'id, username, display_name, role, status, mfa_enrolled_at, password_changed_at, created_by, created_at, updated_at';

function toView(r: UserRow): StaffUser {
  return {
    id: r.id,
    kind: 'staff',
    username: r.username,
    displayName: r.display_name,
    role: r.role,
    status: r.status,
    mfaEnrolled: r.mfa_enrolled_at !== null,
    mfaEnrolledAt: r.mfa_enrolled_at,
    passwordChangedAt: r.password_changed_at,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

interface CredentialsRow {
  id: string;
  username: string;
  role: StaffRole;
  status: UserStatus;
  password_hash: string | null;
  totp_secret: Buffer | null;
  mfa_enrolled_at: Date | null;
  totp_last_step: number | null;
}

const CREDENTIAL_COLUMNS = 'id, username, role, status, password_hash, totp_secret, mfa_enrolled_at, totp_last_step';

function toCredentials(r: CredentialsRow): StaffCredentials {
  return {
    userId: r.id,
    username: r.username,
    role: r.role,
    status: r.status,
    passwordHash: r.password_hash,
    totpSecret: r.totp_secret,
    mfaEnrolledAt: r.mfa_enrolled_at,
    totpLastStep: r.totp_last_step,
  };
}

export interface UserStore {
  /** Throws AppError 400 (validation) or UsernameTakenError (409). */
  createStaff(input: NewStaff, tx?: Sql): Promise<StaffUser>;
  getById(id: string, tx?: Sql): Promise<StaffUser | null>;
  /** Case-insensitive; null for unknown or malformed names. */
  findByUsername(username: string): Promise<StaffUser | null>;
  listStaff(filter?: { readonly role?: StaffRole; readonly status?: UserStatus }): Promise<StaffUser[]>;
  getCredentials(userId: string): Promise<StaffCredentials | null>;
  /** Same, by (case-insensitive) username: one query, so a known name costs what an unknown one does. */
  getCredentialsByUsername(username: string): Promise<StaffCredentials | null>;
  /** The updated user, or null when there is no such staff user. */
  setRole(userId: string, role: StaffRole, tx?: Sql): Promise<StaffUser | null>;
  setStatus(userId: string, status: UserStatus, tx?: Sql): Promise<StaffUser | null>;
  /** Throws AppError 400 for an empty or over-long name. */
  setDisplayName(userId: string, displayName: string, tx?: Sql): Promise<StaffUser | null>;
  /** `changed: false` for a transparent re-hash of the same password (keeps password_changed_at). */
  setPasswordHash(userId: string, passwordHash: string, opts?: { readonly changed?: boolean }, tx?: Sql): Promise<boolean>;
  /** Store a (sealed) pending TOTP secret. False when the user is already enrolled or unknown. */
  startTotpEnrollment(userId: string, sealedSecret: Buffer): Promise<boolean>;
  /**
   * Mark enrollment done with the first accepted step. `sealedSecret` is the ciphertext the code was
   * checked against, so a secret replaced meanwhile (second enrollment tab) is not confirmed. False otherwise.
   */
  confirmTotpEnrollment(userId: string, step: number, sealedSecret: Buffer, tx?: Sql): Promise<boolean>;
  /** Clear secret, enrollment and recovery codes: the user enrolls again at next sign-in. */
  resetMfa(userId: string, tx?: Sql): Promise<boolean>;
  /** Atomically record `step` as used; false when it (or a later step) was already accepted. */
  acceptTotpStep(userId: string, step: number): Promise<boolean>;
  replaceRecoveryCodes(userId: string, hashes: readonly string[], tx?: Sql): Promise<void>;
  /** Atomically mark one unused code used; false when unknown or already used. */
  consumeRecoveryCode(userId: string, hash: string): Promise<boolean>;
  remainingRecoveryCodes(userId: string): Promise<number>;
}

export function createUserStore(db: Db): UserStore {
  const inTx = <T>(tx: Sql | undefined, fn: (s: Sql) => Promise<T>): Promise<T> => (tx ? fn(tx) : db.transaction(fn));

  async function updateView(sql: Sql, userId: string, set: string, params: readonly unknown[]): Promise<StaffUser | null> {
    if (!isUuid(userId)) return null;
    const [row] = await sql.query<UserRow>(
      `UPDATE users SET ${set}, updated_at = now() WHERE id = $1 AND kind = 'staff' RETURNING ${VIEW_COLUMNS}`,
      [userId, ...params],
    );
    return row ? toView(row) : null;
  }

  return {
    async createStaff(input, tx) {
      const username = normalizeUsername(input.username);
      if (username === null) throw invalid('username', '3-64 characters: lower-case letters, digits, . _ -; starting with a letter or digit');
      const displayName = checkDisplayName(input.displayName);
      if (!STAFF_ROLES.includes(input.role)) throw invalid('role', `one of ${STAFF_ROLES.join(', ')}`);
      if (input.createdBy !== null && !isUuid(input.createdBy)) throw invalid('createdBy', 'expected a user id');
      const sql = tx ?? db;
      // ON CONFLICT instead of catching a unique violation: same behaviour on both engines, and a
      // caller's transaction is not aborted by a duplicate.
      const [row] = await sql.query<UserRow>(
        `INSERT INTO users (id, kind, role, username, display_name, password_hash, password_changed_at, created_by)
         VALUES ($1, 'staff', $2, $3, $4, $5, now(), $6)
         ON CONFLICT (username) DO NOTHING
         RETURNING ${VIEW_COLUMNS}`,
        [randomUUID(), input.role, username, displayName, input.passwordHash, input.createdBy],
      );
      if (!row) throw new UsernameTakenError();
      return toView(row);
    },

    async getById(id, tx) {
      if (!isUuid(id)) return null;
      const [row] = await (tx ?? db).query<UserRow>(`SELECT ${VIEW_COLUMNS} FROM users WHERE id = $1 AND kind = 'staff'`, [id]);
      return row ? toView(row) : null;
    },

    async findByUsername(input) {
      const username = normalizeUsername(input);
      if (username === null) return null;
      const [row] = await db.query<UserRow>(`SELECT ${VIEW_COLUMNS} FROM users WHERE username = $1 AND kind = 'staff'`, [username]);
      return row ? toView(row) : null;
    },

    async listStaff(filter = {}) {
      const rows = await db.query<UserRow>(
        `SELECT ${VIEW_COLUMNS} FROM users
          WHERE kind = 'staff' AND ($1::text IS NULL OR role = $1) AND ($2::text IS NULL OR status = $2)
          ORDER BY username`,
        [filter.role ?? null, filter.status ?? null],
      );
      return rows.map(toView);
    },

    async getCredentials(userId) {
      if (!isUuid(userId)) return null;
      const [row] = await db.query<CredentialsRow>(`SELECT ${CREDENTIAL_COLUMNS} FROM users WHERE id = $1 AND kind = 'staff'`, [userId]);
      return row ? toCredentials(row) : null;
    },

    async getCredentialsByUsername(input) {
      const username = normalizeUsername(input);
      if (username === null) return null;
      const [row] = await db.query<CredentialsRow>(`SELECT ${CREDENTIAL_COLUMNS} FROM users WHERE username = $1 AND kind = 'staff'`, [username]);
      return row ? toCredentials(row) : null;
    },

    setRole(userId, role, tx) {
      if (!STAFF_ROLES.includes(role)) throw invalid('role', `one of ${STAFF_ROLES.join(', ')}`);
      return updateView(tx ?? db, userId, 'role = $2', [role]);
    },

    setStatus(userId, status, tx) {
      if (status !== UserStatus.active && status !== UserStatus.disabled) throw invalid('status', 'active or disabled');
      return updateView(tx ?? db, userId, 'status = $2', [status]);
    },

    setDisplayName(userId, input, tx) {
      return updateView(tx ?? db, userId, 'display_name = $2', [checkDisplayName(input)]);
    },

    async setPasswordHash(userId, passwordHash, opts = {}, tx) {
      const set = (opts.changed ?? true) ? 'password_hash = $2, password_changed_at = now()' : 'password_hash = $2';
      return (await updateView(tx ?? db, userId, set, [passwordHash])) !== null;
    },

    async startTotpEnrollment(userId, sealedSecret) {
      if (!isUuid(userId)) return false;
      const rows = await db.query(
        `UPDATE users SET totp_secret = $2, totp_last_step = NULL, updated_at = now()
          WHERE id = $1 AND kind = 'staff' AND mfa_enrolled_at IS NULL RETURNING id`,
        [userId, sealedSecret],
      );
      return rows.length === 1;
    },

    async confirmTotpEnrollment(userId, step, sealedSecret, tx) {
      if (!isUuid(userId)) return false;
      const rows = await (tx ?? db).query(
        `UPDATE users SET mfa_enrolled_at = now(), totp_last_step = $2, updated_at = now()
          WHERE id = $1 AND kind = 'staff' AND mfa_enrolled_at IS NULL AND totp_secret = $3 RETURNING id`,
        [userId, step, sealedSecret],
      );
      return rows.length === 1;
    },

    resetMfa(userId, tx) {
      if (!isUuid(userId)) return Promise.resolve(false);
      return inTx(tx, async (s) => {
        const rows = await s.query(
          `UPDATE users SET totp_secret = NULL, mfa_enrolled_at = NULL, totp_last_step = NULL, updated_at = now()
            WHERE id = $1 AND kind = 'staff' RETURNING id`,
          [userId],
        );
        await s.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
        return rows.length === 1;
      });
    },

    async acceptTotpStep(userId, step) {
      if (!isUuid(userId) || !Number.isSafeInteger(step) || step < 0) return false;
      // One statement: the row lock serializes concurrent attempts, and the loser re-checks the
      // WHERE against the winner's value, so one step is accepted at most once.
      const rows = await db.query(
        `UPDATE users SET totp_last_step = $2
          WHERE id = $1 AND kind = 'staff' AND mfa_enrolled_at IS NOT NULL
            AND (totp_last_step IS NULL OR totp_last_step < $2)
          RETURNING id`,
        [userId, step],
      );
      return rows.length === 1;
    },

    replaceRecoveryCodes(userId, hashes, tx) {
      for (const h of hashes) if (!/^[0-9a-f]{64}$/.test(h)) throw new Error('recovery code hashes must be SHA-256 hex');
      return inTx(tx, async (s) => {
        await s.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
        if (hashes.length === 0) return;
        const values = hashes.map((_, i) => `($1, $${i + 2})`).join(', ');
        await s.query(`INSERT INTO recovery_codes (user_id, code_hash) VALUES ${values}`, [userId, ...hashes]);
      });
    },

    async consumeRecoveryCode(userId, hash) {
      if (!isUuid(userId)) return false;
      const rows = await db.query(
        'UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING code_hash',
        [userId, hash],
      );
      return rows.length === 1;
    },

    async remainingRecoveryCodes(userId) {
      if (!isUuid(userId)) return 0;
      const [row] = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL',
        [userId],
      );
      return row?.n ?? 0;
    },
  };
}

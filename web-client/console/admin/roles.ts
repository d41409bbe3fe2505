/** Staff role names as the admin console shows them (the role value itself is what the API takes). */
import { STAFF_ROLES, type StaffRole } from '../kit/session.ts';

export const ROLE_LABELS: Readonly<Record<StaffRole, string>> = {
  provider: 'Provider',
  scheduler: 'Scheduler',
  admin: 'Administrator',
  auditor: 'Auditor',
  privacy_officer: 'Privacy officer',
};

export const ROLES: readonly StaffRole[] = STAFF_ROLES;

export function asRole(value: string): StaffRole | undefined {
  return STAFF_ROLES.find((r) => r === value);
}

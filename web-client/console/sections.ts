/** Which sections each staff role sees. The gateway enforces the same rules on every call. */
import { adminSections } from './admin/index.ts';
import { auditorSections, privacyOfficerSections } from './audit/index.ts';
import type { StaffRole } from './kit/session.ts';
import type { Section } from './kit/sections.ts';
import { providerSections } from './provider/index.ts';
import { schedulerSections } from './scheduler/index.ts';

export const SECTIONS_BY_ROLE: Readonly<Record<StaffRole, readonly Section[]>> = {
  provider: providerSections,
  scheduler: schedulerSections,
  admin: adminSections,
  auditor: auditorSections,
  privacy_officer: privacyOfficerSections,
};

export const ROLE_NAMES: Readonly<Record<StaffRole, string>> = {
  provider: 'Provider',
  scheduler: 'Scheduler',
  admin: 'Administrator',
  auditor: 'Auditor',
  privacy_officer: 'Privacy officer',
};

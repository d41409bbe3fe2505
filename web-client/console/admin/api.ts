/**
 * What the admin console reads from the gateway, typed as the gateway answers it
 * (gateway/admin/admin-routes.ts, admin-view-routes.ts, keys/key-routes.ts). Ids go in paths;
 * nothing the console builds into a URL is a name or any other personal detail.
 */
import type { ConsoleContextValue, StaffRole } from '../kit/session.ts';

export interface StaffUser {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly role: StaffRole;
  readonly status: 'active' | 'disabled';
  readonly mfaEnrolled: boolean;
  readonly createdAt: string;
}

export interface Lockout {
  readonly userId: string;
  readonly retryAfterSec: number;
}

export interface SessionSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly expiresAt: string;
}

export interface Device {
  readonly deviceId: number;
  readonly registrationId: number;
  readonly label: string | null;
  readonly createdAt: string;
  readonly lastSeenAt: string;
}

export interface CareTeamMember {
  readonly patientId: string;
  readonly addedAt: string;
  readonly erased: boolean;
}

type Call = ConsoleContextValue['call'];

const seg = encodeURIComponent;

export async function listUsers(call: Call, role?: StaffRole): Promise<readonly StaffUser[]> {
  return (await call<{ users: StaffUser[] }>(role === undefined ? '/admin/users' : `/admin/users?role=${seg(role)}`)).users;
}

export async function listLockouts(call: Call): Promise<ReadonlyMap<string, number>> {
  const { lockouts } = await call<{ lockouts: Lockout[] }>('/admin/lockouts');
  return new Map(lockouts.map((l) => [l.userId, l.retryAfterSec]));
}

export const userPath = (userId: string): string => `/admin/users/${seg(userId)}`;

export async function listSessions(call: Call, userId: string): Promise<readonly SessionSummary[]> {
  return (await call<{ sessions: SessionSummary[] }>(`${userPath(userId)}/sessions`)).sessions;
}

export async function listDevices(call: Call, userId: string): Promise<readonly Device[]> {
  return (await call<{ devices: Device[] }>(`${userPath(userId)}/devices`)).devices;
}

export const careTeamPath = (providerId: string): string => `/admin/care-team/${seg(providerId)}/patients`;

export async function listCareTeam(call: Call, providerId: string): Promise<{ readonly patients: readonly CareTeamMember[]; readonly truncated: boolean }> {
  return call<{ patients: CareTeamMember[]; truncated: boolean }>(careTeamPath(providerId));
}

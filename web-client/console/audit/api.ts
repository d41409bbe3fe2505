/**
 * The gateway calls of the auditor and privacy-officer consoles, typed as the gateway answers
 * them: audit search (GET /audit/search, paged by seq), activity counts, the action vocabulary,
 * chain verification and the latest checkpoint, and the break-glass review queue with its usage
 * counts. Query strings carry ids, actions and instants only — never a name or contact detail.
 */
import type { ConsoleContextValue } from '../kit/session.ts';

type Call = ConsoleContextValue['call'];

export interface AuditEvent {
  readonly seq: number;
  readonly at: string;
  readonly actorType: string;
  readonly actorId: string | null;
  readonly action: string;
  readonly resourceType: string | null;
  readonly resourceId: string | null;
  readonly patientId: string | null;
  readonly outcome: string;
  readonly requestId: string | null;
  readonly ip: string | null;
  readonly breakGlass: boolean;
  readonly details: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

export interface SearchFilter {
  readonly from: Date;
  readonly to: Date;
  readonly action?: string;
  readonly actorId?: string;
  readonly patientId?: string;
  readonly breakGlassOnly?: boolean;
}

export interface SearchPage {
  readonly events: readonly AuditEvent[];
  readonly next: number | null;
  readonly until: number;
  readonly total: number | null;
}

export function searchQuery(f: SearchFilter, page: { order: 'asc' | 'desc'; limit: number; after?: number; until?: number }): string {
  const q = new URLSearchParams({ from: f.from.toISOString(), to: f.to.toISOString(), order: page.order, limit: String(page.limit) });
  if (f.action !== undefined) q.set('action', f.action);
  if (f.actorId !== undefined) q.set('actorId', f.actorId);
  if (f.patientId !== undefined) q.set('patientId', f.patientId);
  if (f.breakGlassOnly === true) q.set('breakGlass', 'true');
  if (page.after !== undefined) q.set('after', String(page.after));
  if (page.until !== undefined) q.set('until', String(page.until));
  return `/audit/search?${q.toString()}`;
}

export function searchAudit(call: Call, f: SearchFilter, page: { order: 'asc' | 'desc'; limit: number; after?: number; until?: number }): Promise<SearchPage> {
  return call<SearchPage>(searchQuery(f, page));
}

export async function listActions(call: Call): Promise<readonly string[]> {
  return (await call<{ actions: string[] }>('/audit/actions')).actions;
}

export type Bucket = 'hour' | 'day';

export interface Activity {
  readonly bucket: Bucket;
  readonly timeZone: string;
  readonly total: number;
  readonly buckets: readonly { readonly start: string; readonly counts: Readonly<Record<string, number>> }[];
}

export function loadActivity(call: Call, from: Date, to: Date, bucket: Bucket, timeZone: string): Promise<Activity> {
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), bucket, timeZone });
  return call<Activity>(`/audit/activity?${q.toString()}`);
}

export interface ChainStatus {
  readonly ok: boolean;
  readonly checked: number;
  readonly checkpoints: number;
  readonly headSeq: number | null;
  readonly firstBad: { readonly seq: number; readonly reason: string } | null;
}

export interface Checkpoint {
  readonly seq: number;
  readonly at: string;
  readonly keyId: string;
}

export async function verifyChain(call: Call): Promise<{ status: ChainStatus; checkpoint: Checkpoint | null; at: Date }> {
  const [status, latest] = await Promise.all([call<ChainStatus>('/audit/verify'), call<{ checkpoint: Checkpoint | null }>('/audit/checkpoints/latest')]);
  return { status, checkpoint: latest.checkpoint, at: new Date() };
}

export const OUTCOMES = ['justified', 'not_justified', 'escalated'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface Grant {
  readonly id: string;
  readonly providerId: string;
  readonly patientId: string;
  /** null when the patient's record was erased. */
  readonly reason: string | null;
  readonly startedAt: string;
  readonly expiresAt: string;
  readonly status: 'open' | 'reviewed';
  readonly outcome: Outcome | null;
}

export interface GrantUsage {
  readonly grantId: string;
  readonly actions: number;
  readonly lastAt: string | null;
}

/** Open grants, oldest first, with how many flagged actions each was used for. */
export async function loadQueue(call: Call): Promise<{ grants: readonly Grant[]; usage: ReadonlyMap<string, GrantUsage> }> {
  const { grants } = await call<{ grants: Grant[] }>('/break-glass/reviews?status=open&limit=50');
  if (grants.length === 0) return { grants, usage: new Map() };
  const { usage } = await call<{ usage: GrantUsage[] }>(`/audit/break-glass-usage?ids=${grants.map((g) => g.id).join(',')}`);
  return { grants, usage: new Map(usage.map((u) => [u.grantId, u])) };
}

export async function closeReview(call: Call, grantId: string, outcome: Outcome, note: string): Promise<void> {
  const trimmed = note.trim();
  await call<null>(`/break-glass/${encodeURIComponent(grantId)}/review`, { method: 'POST', body: { outcome, ...(trimmed === '' ? {} : { note: trimmed }) } });
}

/**
 * The read-side queries behind the auditor and privacy-officer consoles: a keyset-paginated search
 * (time window, actor, patient, action, break-glass flag) bounded by the head seen on the first
 * page so paging is stable while the chain grows (the search itself appends), per-bucket counts for
 * the activity chart (so a chart never pages through thousands of entries), the latest signed
 * checkpoint, and how many flagged actions each break-glass grant was used for. Plain SQL that
 * runs unchanged on PGlite and PostgreSQL.
 */
import type { AuditRecord } from '../../core/audit/index.ts';
import { RECORD_COLUMNS, rowToRecord, type AuditRow } from '../../core/audit/hash.ts';
import type { Sql } from '../../core/db/types.ts';

export interface SearchFilter {
  /** Inclusive. */
  readonly from: Date;
  /** Exclusive. */
  readonly to: Date;
  readonly actorId?: string | undefined;
  readonly patientId?: string | undefined;
  readonly action?: string | undefined;
  readonly breakGlass?: boolean | undefined;
}

export interface SearchPage {
  readonly order: 'asc' | 'desc';
  /** The seq after which (in `order`) this page starts; absent on the first page. */
  readonly after?: number | undefined;
  /** Highest seq considered; absent on the first page (the current head is used and returned). */
  readonly until?: number | undefined;
  readonly limit: number;
}

export interface SearchResult {
  readonly records: AuditRecord[];
  /** Cursor for the next page (`after`), or null when this is the last page. */
  readonly next: number | null;
  /** The head bound every page of this listing uses (pass it back as `until`). */
  readonly until: number;
  /** Matches in the whole listing; counted on the first page only (null later, to keep paging cheap). */
  readonly total: number | null;
}

const FILTER_SQL = `at >= $1::timestamptz AND at < $2::timestamptz
  AND ($3::text IS NULL OR actor_id = $3) AND ($4::text IS NULL OR patient_id = $4)
  AND ($5::text IS NULL OR action = $5) AND ($6::boolean IS NULL OR break_glass = $6)
  AND seq <= $7`;

function filterParams(f: SearchFilter, until: number): unknown[] {
  return [f.from.toISOString(), f.to.toISOString(), f.actorId ?? null, f.patientId ?? null, f.action ?? null, f.breakGlass ?? null, until];
}

export async function searchAudit(db: Sql, filter: SearchFilter, page: SearchPage): Promise<SearchResult> {
  let until = page.until;
  if (until === undefined) {
    const [head] = await db.query<{ head: number | null }>('SELECT max(seq) AS head FROM audit_log');
    until = head?.head ?? 0;
  }
  const params = filterParams(filter, until);
  const asc = page.order === 'asc';
  params.push(page.after ?? (asc ? 0 : until + 1), page.limit + 1);
  const rows = await db.query<AuditRow>(
    `SELECT ${RECORD_COLUMNS} FROM audit_log WHERE ${FILTER_SQL} AND seq ${asc ? '>' : '<'} $8
      ORDER BY seq ${asc ? 'ASC' : 'DESC'} LIMIT $9`,
    params,
  );
  const more = rows.length > page.limit;
  const records = rows.slice(0, page.limit).map(rowToRecord);
  let total: number | null = null;
  if (page.after === undefined) {
    const [count] = await db.query<{ n: number }>(`SELECT count(*) AS n FROM audit_log WHERE ${FILTER_SQL}`, filterParams(filter, until));
    total = count?.n ?? 0;
  }
  return { records, next: more ? (records.at(-1)?.seq ?? null) : null, until, total };
}

export const Bucket = { hour: 'hour', day: 'day' } as const;
export type Bucket = (typeof Bucket)[keyof typeof Bucket];

export interface ActivityBucket {
  /** Start of the bucket (in the requested time zone), as an instant. */
  readonly start: Date;
  readonly counts: Readonly<Record<string, number>>;
}

/** Counts per bucket and action, empty buckets left out, oldest first. */
export async function auditActivity(db: Sql, q: { from: Date; to: Date; bucket: Bucket; timeZone: string }): Promise<ActivityBucket[]> {
  const rows = await db.query<{ start: Date; action: string; n: number }>(
    `SELECT date_trunc($3::text, at, $4::text) AS start, action, count(*) AS n
       FROM audit_log WHERE at >= $1::timestamptz AND at < $2::timestamptz
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [q.from.toISOString(), q.to.toISOString(), q.bucket, q.timeZone],
  );
  const out: { start: Date; counts: Record<string, number> }[] = [];
  for (const r of rows) {
    let last = out.at(-1);
    if (last === undefined || last.start.getTime() !== r.start.getTime()) {
      last = { start: r.start, counts: {} };
      out.push(last);
    }
    last.counts[r.action] = Number(r.n);
  }
  return out;
}

export interface LatestCheckpoint {
  readonly seq: number;
  readonly at: Date;
  readonly keyId: string;
}

export async function latestCheckpoint(db: Sql): Promise<LatestCheckpoint | null> {
  const [row] = await db.query<{ seq: number; at: Date; key_id: string }>('SELECT seq, at, key_id FROM audit_checkpoint ORDER BY seq DESC LIMIT 1');
  return row === undefined ? null : { seq: row.seq, at: row.at, keyId: row.key_id };
}

export interface GrantUsage {
  readonly grantId: string;
  /** Flagged entries by the grant's provider about its patient inside its window (the request and review records excluded). */
  readonly actions: number;
  readonly lastAt: Date | null;
}

/**
 * Usage of each named grant; unknown ids are left out. A flagged entry has no grant id of its
 * own, so it is attributed by (provider, patient, window): a provider holds at most one live grant
 * per patient (a new request ends the old one), so the windows of one pair never overlap.
 */
export async function grantUsage(db: Sql, grantIds: readonly string[]): Promise<GrantUsage[]> {
  if (grantIds.length === 0) return [];
  const rows = await db.query<{ id: string; actions: number; last_at: Date | null }>(
    `SELECT g.id, count(a.seq) AS actions, max(a.at) AS last_at
       FROM break_glass g
       LEFT JOIN audit_log a
         ON a.actor_id = g.provider_id::text AND a.patient_id = g.patient_id::text AND a.break_glass
        AND a.at >= g.started_at AND a.at < least(coalesce(g.ended_at, g.expires_at), g.expires_at)
        AND a.action NOT LIKE 'break\\_glass.%'
      WHERE g.id = ANY($1::uuid[])
      GROUP BY g.id`,
    [grantIds],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return grantIds.flatMap((id) => {
    const r = byId.get(id);
    return r === undefined ? [] : [{ grantId: id, actions: Number(r.actions), lastAt: r.last_at }];
  });
}

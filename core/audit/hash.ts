/**
 * The chain's hash and the one mapping from a database row to an AuditRecord. The hash covers
 * every stored field plus prev_hash, serialized as RFC 8785 canonical JSON, so it does not depend
 * on key order, jsonb's normalization or the engine. An exported JSON line minus its `hash` is
 * exactly the hashed object, so anyone can recompute it with any RFC 8785 implementation.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditDetails } from './details-guard.ts';
import type { AuditRecord } from './entry.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** Columns in the order every query selects them. */
export const RECORD_COLUMNS =
  'seq, at, actor_type, actor_id, action, resource_type, resource_id, patient_id, outcome, request_id, ip, break_glass, details, prev_hash, hash';

export function canonicalJson(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new TypeError('value has no JSON form');
  return s;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** SHA-256 (hex) of the canonical JSON of the record without its own hash. */
export function hashRecord(r: Omit<AuditRecord, 'hash'>): string {
  const hashed: Omit<AuditRecord, 'hash'> = {
    seq: r.seq,
    at: r.at,
    actor_type: r.actor_type,
    actor_id: r.actor_id,
    action: r.action,
    resource_type: r.resource_type,
    resource_id: r.resource_id,
    patient_id: r.patient_id,
    outcome: r.outcome,
    request_id: r.request_id,
    ip: r.ip,
    break_glass: r.break_glass,
    details: r.details,
    prev_hash: r.prev_hash,
  };
  return sha256Hex(canonicalJson(hashed));
}

/** A row as the Db layer returns it (timestamptz → Date, jsonb → parsed). */
export interface AuditRow {
  seq: number;
  at: Date;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  patient_id: string | null;
  outcome: string;
  request_id: string | null;
  ip: string | null;
  break_glass: boolean;
  details: AuditDetails;
  prev_hash: string;
  hash: string;
}

export function rowToRecord(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at.toISOString(),
    actor_type: row.actor_type,
    actor_id: row.actor_id,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    patient_id: row.patient_id,
    outcome: row.outcome,
    request_id: row.request_id,
    ip: row.ip,
    break_glass: row.break_glass,
    details: row.details,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

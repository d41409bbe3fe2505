/**
 * The audit chain's public API. Features append with `createAuditLog(db).append(entry, tx)`;
 * the composition root creates the key, the checkpointer and its timer; the CLI verifies and exports.
 */
export { ActorType, AuditAction, AuditOutcome, isAuditAction } from './actions.ts';
export { createAuditLog, type AuditLog, type ChainHead } from './log.ts';
export { actorFields, type AuditActor } from './actor.ts';
export { InvalidAuditEntryError, parseAuditEntry, type AuditEntryInput, type AuditRecord } from './entry.ts';
export { checkDetails, isPhiShapedKey, DETAILS_LIMITS, type AuditDetails, type JsonValue } from './details-guard.ts';
export { GENESIS_HASH, hashRecord } from './hash.ts';
export { loadOrCreateSigningKey, loadSigningKey, keyIdOf, type AuditSigningKey } from './signing-key.ts';
export { createCheckpointer, checkpointSignatureValid, type Checkpoint, type Checkpointer } from './checkpoint.ts';
export { startCheckpointTimer, type CheckpointTimer, type CheckpointTimerOptions } from './checkpoint-timer.ts';
export { verifyChain, VerifyFailure, type VerifyOptions, type VerifyResult } from './verify.ts';
export { exportEntries, toJsonLine, type ExportFilter } from './export.ts';

/**
 * Backup and restore (contingency plan, HIPAA 164.308(a)(7)): an encrypted, authenticated, logical
 * backup that reads and restores the same on PGlite and PostgreSQL. The backup key lives in its own
 * file; the master key and the audit signing key are in neither and must be kept as well.
 */
export { BackupError, BackupProblem } from './errors.ts';
export { generateBackupKey, readBackupKeyFile, writeBackupKeyFileExclusive, type BackupKey } from './key.ts';
export { DEFAULT_CHUNK_SIZE, FORMAT_VERSION } from './container.ts';
export type { Manifest } from './archive.ts';
export { createBackup, type BackupProgress, type CreateBackupOptions, type CreateBackupResult } from './create.ts';
export { checkBackupFile, restoreBackup, type CheckedBackup, type RestoreOptions, type RestoreResult } from './restore.ts';
export { keysInUse, type KeysInUse } from './key-report.ts';

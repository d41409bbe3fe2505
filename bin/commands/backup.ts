/**
 * `telehealth backup create | restore | verify`: the contingency plan's data backup (HIPAA
 * 164.308(a)(7)) on either engine (core/backup). Create and restore are recorded in the audit chain
 * (backup.create in the source, backup.restore in the restored chain). Exit codes: 0 done, 1 refused
 * or failed (a clear message says why and what to do), 2 usage or configuration problem — including
 * a PGlite data dir in use by a running server (the dispatcher maps StartupError to 2).
 */
import { unlinkSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ActorType, AuditAction, AuditOutcome, createAuditLog, loadSigningKey, verifyChain } from '../../core/audit/index.ts';
import {
  BackupError,
  BackupProblem,
  checkBackupFile,
  createBackup,
  generateBackupKey,
  keysInUse,
  readBackupKeyFile,
  restoreBackup,
  writeBackupKeyFileExclusive,
  type BackupKey,
  type BackupProgress,
  type CreateBackupResult,
} from '../../core/backup/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import type { Config } from '../../core/config/schema.ts';
import { masterKeyFromBase64, pendingMasterKeyPath, readMasterKeyFile } from '../../core/crypto/index.ts';
import { openDatabase } from '../../core/db/open.ts';
import type { Db } from '../../core/db/types.ts';
import { describeError } from '../../core/errors.ts';
import type { Command, CommandContext } from './types.ts';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const KEEP_KEYS = `Keep THREE things, each apart from the others, to be able to restore:
  1. the backup file;
  2. its backup key file (--key-file) — not inside the backup, never stored next to it for long;
  3. the master key (MASTER_KEY, or DATA_DIR/keys/master.key / MASTER_KEY_FILE) that wraps every
     patient data key, and the audit signing key (AUDIT_SIGNING_KEY_FILE, default
     DATA_DIR/keys/audit-ed25519.pem) that signed the audit checkpoints. Neither is in the backup:
     without the master key the restored patient fields cannot be decrypted.`;

function usage(ctx: CommandContext, name: string, message: string): number {
  ctx.stderr.write(`telehealth ${name}: ${message}\nRun \`telehealth ${name} --help\`.\n`);
  return EXIT_USAGE;
}

function parse<T>(ctx: CommandContext, name: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    usage(ctx, name, describeError(err));
    return undefined;
  }
}

/** `--in <file> --key-file <file>`, both required (restore and verify); a number is the usage exit code. */
function inAndKey(ctx: CommandContext, name: string): { input: string; keyFile: string } | number {
  const args = parse(ctx, name, () =>
    parseArgs({ args: [...ctx.argv], options: { in: { type: 'string' }, 'key-file': { type: 'string' } }, strict: true, allowPositionals: false }),
  );
  if (!args) return EXIT_USAGE;
  const input = args.values.in;
  const keyFile = args.values['key-file'];
  if (input === undefined || input === '') return usage(ctx, name, '--in is required');
  if (keyFile === undefined || keyFile === '') return usage(ctx, name, '--key-file is required');
  return { input, keyFile };
}

function refused(ctx: CommandContext, name: string, err: BackupError): number {
  ctx.stderr.write(`telehealth ${name}: ${err.message}\n`);
  if (err.hint) ctx.stderr.write(`${err.hint}\n`);
  return EXIT_FAILED;
}

/** One line per finished table on stderr; on a terminal, a live count inside long tables too. */
function progress(ctx: CommandContext, verb: string): (p: BackupProgress) => void {
  let last = 0;
  return (p) => {
    if (p.rows >= p.total) {
      if (ctx.interactive) ctx.stderr.write('\r\x1b[K');
      ctx.stderr.write(`  ${verb} ${p.table}: ${p.rows} row${p.rows === 1 ? '' : 's'}\n`);
      return;
    }
    const now = Date.now();
    if (!ctx.interactive || now - last < 100) return;
    last = now;
    ctx.stderr.write(`\r  ${verb} ${p.table}: ${p.rows}/${p.total} rows`);
  };
}

async function withDb<T>(ctx: CommandContext, fn: (db: Db, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = loadConfig(ctx.env);
  const db = await openDatabase(cfg, 'telehealth-cli');
  try {
    return await fn(db, cfg);
  } finally {
    await db.close();
  }
}

function requireKey(file: string): BackupKey {
  const key = readBackupKeyFile(file);
  if (!key) throw new BackupError(BackupProblem.keyFile, `there is no backup key file at ${file}`, { hint: 'Pass the key file written when the backup was created as --key-file.' });
  return key;
}

function writeLines(out: Writable, lines: readonly string[]): void {
  out.write(`${lines.join('\n')}\n`);
}

const create: Command = {
  words: ['backup', 'create'],
  summary: 'write an encrypted, integrity-protected backup of the database',
  help: `Usage: telehealth backup create --out <file> [--key-file <file>]

Backs up every table of the configured database (PostgreSQL via DATABASE_URL, or the embedded
PGlite database in DATA_DIR) from one consistent snapshot, into a new file (mode 0600; never
overwrites). The contents are encrypted and authenticated with AES-256-GCM in chunks under a
random backup key; the key is kept in a separate key file, never in the backup. Rows per table
are reported on stderr. The backup is recorded in the audit chain (backup.create, with the file's
SHA-256). With PGlite, stop the server first: its data dir can be open in one process only.

Options:
  --out <file>        the backup file to create
  --key-file <file>   backup key to use: an existing key file is reused (each backup still gets
                      its own encryption key), a missing one is created (0600). Default: <out>.key

${KEEP_KEYS}

Exit codes: 0 written, 1 refused or failed, 2 usage or configuration problem (or data dir in use).

Example:
  telehealth backup create --out /backups/th-2026-01-31.thbk --key-file /secure/backup.key`,
  async run(ctx) {
    const name = 'backup create';
    const args = parse(ctx, name, () =>
      parseArgs({ args: [...ctx.argv], options: { out: { type: 'string' }, 'key-file': { type: 'string' } }, strict: true, allowPositionals: false }),
    );
    if (!args) return EXIT_USAGE;
    const out = args.values.out;
    if (out === undefined || out === '') return usage(ctx, name, '--out is required');
    const keyFile = args.values['key-file'] ?? `${out}.key`;
    if (keyFile === out) return usage(ctx, name, '--key-file must not be the backup file');
    try {
      return await withDb(ctx, async (db) => {
        let key = readBackupKeyFile(keyFile);
        let createdKey = false;
        if (!key) {
          key = generateBackupKey();
          writeBackupKeyFileExclusive(keyFile, key);
          createdKey = true;
        }
        const audit = createAuditLog(db);
        const actor = { actorType: ActorType.system, actorId: 'cli' } as const;
        let result: CreateBackupResult;
        try {
          result = await createBackup({ db, out, key, onProgress: progress(ctx, 'backed up') });
        } catch (err) {
          if (createdKey) unlinkSync(keyFile); // a key for no backup would only confuse
          // Without a schema there is no audit chain to record the failure in.
          if (!(err instanceof BackupError && err.problem === BackupProblem.noSchema)) await audit.append({ ...actor, action: AuditAction.backupCreate, outcome: AuditOutcome.failure, details: { reason: err instanceof BackupError ? err.problem : 'error' } });
          throw err;
        }
        await audit.append({
          ...actor,
          action: AuditAction.backupCreate,
          outcome: AuditOutcome.success,
          details: { fileSha256: result.sha256, format: 1, schemaVersion: result.schemaVersion, tables: result.tables.length, rows: result.totalRows, bytes: result.bytes },
        });
        writeLines(ctx.stdout, [
          `backup written to ${result.file}: ${result.totalRows} rows in ${result.tables.length} tables, schema version ${result.schemaVersion}, ${result.bytes} bytes`,
          `sha256 ${result.sha256}`,
          `backup key: ${keyFile}${createdKey ? ' (new)' : ''}`,
        ]);
        ctx.stderr.write(`Keep the backup key and the master key apart from the backup: both are needed to restore, neither is inside it.\n`);
        return EXIT_OK;
      });
    } catch (err) {
      if (err instanceof BackupError) return refused(ctx, name, err);
      throw err;
    }
  },
};

function configuredMasterKeyIds(cfg: Config): string[] {
  if (cfg.masterKey !== undefined) {
    const k = masterKeyFromBase64(cfg.masterKey);
    return k ? [k.keyId] : [];
  }
  const ids: string[] = [];
  for (const file of [cfg.masterKeyPath, pendingMasterKeyPath(cfg)]) {
    const k = readMasterKeyFile(file);
    if (k) ids.push(k.keyId);
  }
  return ids;
}

const restore: Command = {
  words: ['backup', 'restore'],
  summary: 'restore a backup into an empty deployment and verify its audit chain',
  help: `Usage: telehealth backup restore --in <file> --key-file <file>

Restores a backup made by \`telehealth backup create\` into the configured database (DATABASE_URL,
or PGlite in DATA_DIR), which must be EMPTY: a new database or a new DATA_DIR on which the server
has not been started. The whole file is decrypted and checked first — a wrong key, a damaged or
truncated file is refused before anything is written, naming the damaged chunk. Then the database
is migrated to the backup's schema version and every row is restored in one transaction (audit
entries keep their seq and hashes), sequences are set back, a backup.restore entry is appended,
and the audit chain (and its signed checkpoints) is verified. The server migrates the database to
the current build's version when it starts.

Options:
  --in <file>         the backup file
  --key-file <file>   its backup key file

${KEEP_KEYS}
Configure the restored deployment with the same MASTER_KEY / master key file and audit signing
key as the original; the command reports whether the configured keys are the ones the data needs.

Exit codes: 0 restored and verified, 1 refused or failed (wrong key, damaged file, target not empty,
chain broken, keys missing), 2 usage or configuration problem (or data dir in use).

Example:
  DATA_DIR=/srv/telehealth-restored telehealth backup restore --in th.thbk --key-file /secure/backup.key`,
  async run(ctx) {
    const name = 'backup restore';
    const files = inAndKey(ctx, name);
    if (typeof files === 'number') return files;
    const { input, keyFile } = files;
    try {
      const key = requireKey(keyFile);
      const started = Date.now();
      // A wrong key or a damaged file is refused before the database is even opened.
      const checked = await checkBackupFile(input, key);
      return await withDb(ctx, async (db, cfg) => {
        const res = await restoreBackup({ db, file: input, key, checked, onProgress: progress(ctx, 'restored') });
        const m = res.manifest;
        ctx.stdout.write(
          `restored ${m.totalRows} rows in ${m.tables.length} tables from ${input} (made ${m.createdAt} on ${m.sourceEngine}, schema version ${m.schemaVersion}) in ${Date.now() - started} ms\n`,
        );
        const signing = loadSigningKey(cfg.auditKeyPath);
        const chain = await verifyChain(db, { publicKeys: signing ? [signing.publicKey] : [] });
        const keys = await keysInUse(db);
        let ok = true;
        if (chain.ok) {
          ctx.stdout.write(`audit chain intact: ${chain.checked} entries, ${chain.checkpoints} signed checkpoint(s) verified\n`);
        } else if (chain.firstBad?.reason === 'checkpoint_key_unknown') {
          ok = false;
          ctx.stdout.write(
            `audit chain NOT verified: its checkpoints are signed by key ${keys.checkpointKeyIds.join(', ')}, which is not the audit signing key at ${cfg.auditKeyPath}\n` +
              'Copy the original audit signing key there (or set AUDIT_SIGNING_KEY_FILE) and run `telehealth audit verify`.\n',
          );
        } else if (chain.firstBad) {
          ok = false;
          ctx.stdout.write(`audit chain BROKEN at entry ${chain.firstBad.seq} (${chain.firstBad.reason}): ${chain.firstBad.message}\n`);
        }
        const have = new Set(configuredMasterKeyIds(cfg));
        const missing = keys.masterKeyIds.filter((id) => !have.has(id));
        if (missing.length > 0) {
          ok = false;
          ctx.stdout.write(
            `patient data is wrapped by master key ${missing.join(', ')}, which this deployment is not configured with: set MASTER_KEY or put the original master key at ${cfg.masterKeyPath} before starting the server\n`,
          );
        } else if (keys.masterKeyIds.length > 0) {
          ctx.stdout.write(`master key ${keys.masterKeyIds.join(', ')} configured: patient data can be decrypted\n`);
        }
        if (!ok) ctx.stdout.write('The data is restored (and committed); fix the above before putting this deployment into service.\n');
        return ok ? EXIT_OK : EXIT_FAILED;
      });
    } catch (err) {
      if (err instanceof BackupError) return refused(ctx, name, err);
      throw err;
    }
  },
};

const verify: Command = {
  words: ['backup', 'verify'],
  summary: 'check that a backup file opens with its key and is complete (no database needed)',
  help: `Usage: telehealth backup verify --in <file> --key-file <file>

Decrypts and authenticates every chunk of a backup and checks its row counts and per-table SHA-256
against its manifest, without touching any database: a restore drill you can run on every backup.

Exit codes: 0 intact, 1 refused (wrong key, damaged or truncated file), 2 usage problem.`,
  async run(ctx) {
    const name = 'backup verify';
    const files = inAndKey(ctx, name);
    if (typeof files === 'number') return files;
    const { input, keyFile } = files;
    try {
      const { manifest: m, sha256 } = await checkBackupFile(input, requireKey(keyFile));
      writeLines(ctx.stdout, [
        `backup intact: ${m.totalRows} rows in ${m.tables.length} tables, made ${m.createdAt} on ${m.sourceEngine}, schema version ${m.schemaVersion}`,
        ...m.tables.map((t) => `  ${t.name}: ${t.rows} rows`),
        `sha256 ${sha256}`,
      ]);
      return EXIT_OK;
    } catch (err) {
      if (err instanceof BackupError) return refused(ctx, name, err);
      throw err;
    }
  },
};

export const backupCommands: Command[] = [create, restore, verify];

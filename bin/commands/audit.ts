/**
 * `telehealth audit verify | export | checkpoint`: operator access to the audit chain (core/audit).
 * Verify and export are themselves audited (actor system `cli`). Exit codes: 0 done / intact,
 * 1 chain broken (verify), 2 usage or configuration problem (the dispatcher maps StartupError to 2).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ActorType, AuditAction, AuditOutcome, createAuditLog, createCheckpointer, exportEntries, loadOrCreateSigningKey, loadSigningKey, toJsonLine, verifyChain } from '../../core/audit/index.ts';
import type { AuditEntryInput } from '../../core/audit/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import type { Config } from '../../core/config/schema.ts';
import { migrate } from '../../core/db/migrate.ts';
import { openDatabase } from '../../core/db/open.ts';
import type { Db } from '../../core/db/types.ts';
import { describeError, StartupError } from '../../core/errors.ts';
import type { Command, CommandContext } from './types.ts';

const EXIT_OK = 0;
const EXIT_BROKEN = 1;
const EXIT_USAGE = 2;
const CLI_ACTOR = { actorType: ActorType.system, actorId: 'cli' } as const;

/** Run parseArgs; on a usage error print it with a pointer to --help and return undefined. */
function parseOrUsage<T>(ctx: CommandContext, name: string, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    ctx.stderr.write(`telehealth ${name}: ${describeError(err)}\nRun \`telehealth ${name} --help\`.\n`);
    return undefined;
  }
}

async function withDb<T>(ctx: CommandContext, fn: (db: Db, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = loadConfig(ctx.env);
  const db = await openDatabase(cfg, 'telehealth-cli');
  try {
    await migrate(db);
    return await fn(db, cfg);
  } finally {
    await db.close();
  }
}

/** A one-line progress bar on a terminal's stderr, redrawn at most every 100 ms. */
function progressBar(out: Writable): { update(done: number, total: number): void; clear(): void } {
  let last = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const frac = total === 0 ? 1 : Math.min(1, done / total);
      const filled = Math.round(frac * 30);
      out.write(`\rverifying [${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${Math.floor(frac * 100)}% ${done}/${total}`);
    },
    clear() {
      out.write('\r\x1b[K');
    },
  };
}

const verify: Command = {
  words: ['audit', 'verify'],
  summary: 'check the audit chain: hashes, links, signed checkpoints',
  help: `Usage: telehealth audit verify [--json]

Walks the whole audit chain in order and recomputes every entry's hash, checks that each entry
links to the one before it and that no seq is missing, and checks every signed checkpoint
against the configured signing key (AUDIT_SIGNING_KEY_FILE, default DATA_DIR/keys/audit-ed25519.pem).
Reports the first broken entry and why. The run itself is recorded in the chain (audit.verify).

Options:
  --json   print the result as one JSON object: {ok, checked, head, checkpoints, firstBad?}

Exit codes: 0 intact, 1 broken (tampering or damage found), 2 usage or configuration problem.

Example:
  telehealth audit verify && echo "audit chain intact"`,
  async run(ctx) {
    const args = parseOrUsage(ctx, 'audit verify', () =>
      parseArgs({ args: [...ctx.argv], options: { json: { type: 'boolean', default: false } }, strict: true, allowPositionals: false }),
    );
    if (!args) return EXIT_USAGE;
    const json = args.values.json;
    return withDb(ctx, async (db, cfg) => {
      const key = loadSigningKey(cfg.auditKeyPath);
      const bar = ctx.interactive && !json ? progressBar(ctx.stderr) : undefined;
      const result = await verifyChain(db, { publicKeys: key ? [key.publicKey] : [], ...(bar ? { onProgress: (done: number, total: number) => bar.update(done, total) } : {}) });
      bar?.clear();
      await createAuditLog(db).append({
        ...CLI_ACTOR,
        action: AuditAction.auditVerify,
        outcome: result.ok ? AuditOutcome.success : AuditOutcome.failure,
        details: { checked: result.checked, checkpoints: result.checkpoints, firstBadSeq: result.firstBad?.seq ?? null, reason: result.firstBad?.reason ?? null },
      });
      if (!key && result.firstBad?.reason === 'checkpoint_key_unknown') {
        throw new StartupError(`the chain has signed checkpoints but there is no audit signing key at ${cfg.auditKeyPath}`, 'Set AUDIT_SIGNING_KEY_FILE to the key that signed them.');
      }
      if (json) ctx.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.ok) {
        const head = result.head ? `, head entry ${result.head.seq} (${result.head.hash.slice(0, 16)}…)` : '';
        ctx.stdout.write(`audit chain intact: ${result.checked} entries${head}, ${result.checkpoints} signed checkpoint(s) verified\n`);
        if (result.checked > 0 && result.checkpoints === 0) {
          ctx.stdout.write('note: no signed checkpoint yet, so a rewrite of the whole chain would go unnoticed; run `telehealth audit checkpoint`\n');
        }
      } else if (result.firstBad) {
        ctx.stdout.write(`audit chain BROKEN at entry ${result.firstBad.seq} (${result.firstBad.reason}): ${result.firstBad.message}\n`);
        ctx.stdout.write(`${result.checked} entries before it verified.\n`);
      }
      return result.ok ? EXIT_OK : EXIT_BROKEN;
    });
  },
};

// A date, or a date-time with an explicit offset: a breach window must not depend on the operator's time zone.
const ISO_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function usageProblems(v: { from?: string | undefined; to?: string | undefined; actor?: string | undefined; patient?: string | undefined }): string[] {
  const problems: string[] = [];
  for (const name of ['from', 'to'] as const) {
    const s = v[name];
    if (s === undefined) problems.push(`--${name} is required`);
    else if (!ISO_RE.test(s) || Number.isNaN(Date.parse(s))) problems.push(`--${name} must be an ISO 8601 date (2026-01-31) or date-time with offset (2026-01-31T08:00:00Z)`);
  }
  if (v.from !== undefined && v.to !== undefined && Date.parse(v.from) >= Date.parse(v.to)) problems.push('--from must be before --to');
  for (const name of ['actor', 'patient'] as const) {
    const s = v[name];
    if (s !== undefined && !ID_RE.test(s)) problems.push(`--${name} must be an id (letters, digits, . _ : -)`);
  }
  return problems;
}

const exportCmd: Command = {
  words: ['audit', 'export'],
  summary: 'write audit entries for a time window / actor / patient as JSON Lines',
  help: `Usage: telehealth audit export --from <iso> --to <iso> [--actor <id>] [--patient <id>] [--out <file>]

Writes the audit entries with from <= time < to, optionally only those by one actor and/or about
one patient (breach assessment), one JSON object per line, in seq order. Each line carries seq,
prev_hash and hash, so the slice can be checked against the chain. The export is itself recorded
in the chain (audit.export). A summary goes to stderr.

Options:
  --from <iso>     start, inclusive: 2026-01-31 or 2026-01-31T08:00:00Z (an offset is required with a time)
  --to <iso>       end, exclusive
  --actor <id>     only entries by this user, device, patient or process id
  --patient <id>   only entries about this patient id
  --out <file>     write to a new file (mode 0600; never overwrites) instead of stdout

Exit codes: 0 exported, 2 usage or configuration problem.

Example:
  telehealth audit export --from 2026-01-01 --to 2026-02-01 --patient pat_42 --out pat_42.jsonl`,
  async run(ctx) {
    const args = parseOrUsage(ctx, 'audit export', () =>
      parseArgs({
        args: [...ctx.argv],
        options: { from: { type: 'string' }, to: { type: 'string' }, actor: { type: 'string' }, patient: { type: 'string' }, out: { type: 'string' } },
        strict: true,
        allowPositionals: false,
      }),
    );
    if (!args) return EXIT_USAGE;
    const v = args.values;
    const problems = usageProblems(v);
    if (problems.length > 0 || v.from === undefined || v.to === undefined) {
      ctx.stderr.write(`telehealth audit export: ${problems.join('; ')}\nRun \`telehealth audit export --help\`.\n`);
      return EXIT_USAGE;
    }
    const filter = { from: new Date(v.from), to: new Date(v.to), ...(v.actor ? { actorId: v.actor } : {}), ...(v.patient ? { patientId: v.patient } : {}) };
    return withDb(ctx, async (db) => {
      const log = createAuditLog(db);
      const record = (outcome: AuditOutcome, count: number): AuditEntryInput => ({
        ...CLI_ACTOR,
        action: AuditAction.auditExport,
        outcome,
        patientId: v.patient ?? null,
        details: { windowFrom: filter.from.toISOString(), windowTo: filter.to.toISOString(), actorId: v.actor ?? null, count, toFile: v.out !== undefined },
      });
      let count = 0;
      try {
        const out = v.out === undefined ? ctx.stdout : await openExclusive(v.out);
        for await (const entry of exportEntries(db, filter)) {
          if (!out.write(toJsonLine(entry))) await once(out, 'drain');
          count += 1;
        }
        if (out !== ctx.stdout) {
          out.end();
          await once(out, 'finish');
        }
      } catch (err) {
        await log.append(record(AuditOutcome.failure, count));
        throw err;
      }
      await log.append(record(AuditOutcome.success, count));
      ctx.stderr.write(`exported ${count} audit entr${count === 1 ? 'y' : 'ies'}${v.out ? ` to ${v.out}` : ''}\n`);
      return EXIT_OK;
    });
  },
};

/** A new file only its owner can read: an export names patients and staff. */
async function openExclusive(file: string): Promise<Writable> {
  const stream = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  try {
    await once(stream, 'open');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : 'error';
    throw new StartupError(`cannot create ${file} (${code})`, code === 'EEXIST' ? 'The export never overwrites: choose a new --out file.' : undefined, { cause: err });
  }
  return stream;
}

const checkpoint: Command = {
  words: ['audit', 'checkpoint'],
  summary: 'sign the current audit chain head now',
  help: `Usage: telehealth audit checkpoint

Records the request in the chain (audit.checkpoint), then signs the chain head with the Ed25519
audit signing key (AUDIT_SIGNING_KEY_FILE, default DATA_DIR/keys/audit-ed25519.pem, created 0600
if missing) and stores the checkpoint. The server does this every AUDIT_CHECKPOINT_INTERVAL_SEC;
run it by hand before a backup or a hand-over to an auditor.

Exit codes: 0 signed, 2 usage or configuration problem.`,
  async run(ctx) {
    const args = parseOrUsage(ctx, 'audit checkpoint', () => parseArgs({ args: [...ctx.argv], options: {}, strict: true, allowPositionals: false }));
    if (!args) return EXIT_USAGE;
    return withDb(ctx, async (db, cfg) => {
      const key = loadOrCreateSigningKey(cfg.auditKeyPath);
      await createAuditLog(db).append({ ...CLI_ACTOR, action: AuditAction.auditCheckpoint, outcome: AuditOutcome.success, details: { keyId: key.keyId } });
      const cp = await createCheckpointer(db, key).checkpoint();
      if (cp) ctx.stdout.write(`signed checkpoint at entry ${cp.seq} (head ${cp.head_hash.slice(0, 16)}…, key ${cp.key_id})\n`);
      else ctx.stdout.write('the chain head is already signed\n');
      return EXIT_OK;
    });
  },
};

export const auditCommands: Command[] = [verify, exportCmd, checkpoint];

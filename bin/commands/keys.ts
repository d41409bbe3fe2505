/**
 * `telehealth keys rotate`: master key rotation. Crash-safe order: the new key is written first
 * (`<key file>.next`, or --new-key-file when MASTER_KEY comes from the environment), then every
 * wrapped key is re-sealed in one transaction, then (key-file mode) `.next` is renamed over the
 * key file. A run interrupted anywhere is finished by running the command again: an existing
 * new-key file is reused, never overwritten, and start-up loads `.next` too (core/crypto/master-key.ts).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../core/config/load.ts';
import {
  createMasterKeyring,
  DecryptionError,
  generateMasterKey,
  loadMasterKeyring,
  pendingMasterKeyPath,
  promotePendingMasterKey,
  readMasterKeyFile,
  rotateMasterKey,
  writeMasterKeyFileExclusive,
  type MasterKey,
  type RotateMasterKeyResult,
} from '../../core/crypto/index.ts';
import { openDatabase } from '../../core/db/open.ts';
import type { Command } from './types.ts';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** The staged key at `file` (an interrupted rotation's), else a new one written there 0600. */
function stagedKey(file: string): { key: MasterKey; resumed: boolean } {
  const existing = readMasterKeyFile(file);
  if (existing) return { key: existing, resumed: true };
  const fresh = generateMasterKey();
  if (writeMasterKeyFileExclusive(file, fresh)) return { key: fresh, resumed: false };
  const raced = readMasterKeyFile(file);
  if (!raced) throw new Error(`${file} appeared and vanished while the new key was being written`);
  return { key: raced, resumed: true };
}

export const keysCommands: Command[] = [
  {
    words: ['keys', 'rotate'],
    summary: 'rotate the master key: re-wrap every patient data key and TOTP secret under a new one',
    help: `Usage: telehealth keys rotate [--new-key-file <path>]

Generates a new master key and, in one database transaction, re-wraps every patient data key and
every staff TOTP secret under it (patient data itself is not re-encrypted; it is under the patient
keys). Audited as system.master_key.rotate with counts. Stop the gateway first when using the
embedded database; with PostgreSQL, restart every gateway process right afterwards (a process
started before the rotation holds only the old key).

Key file (MASTER_KEY unset): the new key is written to <key file>.next (0600), the database is
  re-wrapped, then <key file>.next replaces the key file. The old key is gone afterwards: if
  backups taken before the rotation must stay restorable, copy the old key file to your key escrow
  BEFORE rotating.
MASTER_KEY from the environment: --new-key-file <path> is required; the new key is written there
  (0600). Put its contents in your secret store as MASTER_KEY, restart, then delete the file.

Interrupted? Run the command again: an existing new-key file is reused, never overwritten.

Options:
  --new-key-file <path>  where to write the new key (only and always with MASTER_KEY)

Exit codes: 0 rotated, 1 a stored value could not be opened with the loaded key(s) (nothing
            changed), 2 usage, configuration or database problem.`,
    async run(ctx) {
      const { values } = parseArgs({ args: [...ctx.argv], options: { 'new-key-file': { type: 'string' } }, strict: true, allowPositionals: false });
      const cfg = loadConfig(ctx.env);
      const fromEnv = cfg.masterKey !== undefined;
      const newKeyFile = values['new-key-file'];
      if (fromEnv && newKeyFile === undefined) {
        ctx.stderr.write(
          'telehealth keys rotate: MASTER_KEY comes from the environment, so this command cannot replace it.\n' +
            'Pass --new-key-file <path>: the new key is written there, and you then update MASTER_KEY in your secret store.\n',
        );
        return EXIT_USAGE;
      }
      if (!fromEnv && newKeyFile !== undefined) {
        ctx.stderr.write(`telehealth keys rotate: --new-key-file is only for MASTER_KEY from the environment; ${cfg.masterKeyPath} is replaced in place.\n`);
        return EXIT_USAGE;
      }
      const target = newKeyFile === undefined ? pendingMasterKeyPath(cfg) : path.resolve(newKeyFile);
      const loaded = loadMasterKeyring(cfg);
      const { key: newKey, resumed } = stagedKey(target);
      if (resumed) ctx.stdout.write(`reusing the new key already in ${target} (an interrupted rotation)\n`);
      // Rows may already be under the staged key if the last run committed before it could finish.
      const older = loaded.keyIds.flatMap((id) => loaded.get(id) ?? []);
      const keyring = createMasterKeyring(loaded.current, [...older, newKey]);

      const db = await openDatabase(cfg, 'telehealth-cli');
      let res: RotateMasterKeyResult;
      try {
        res = await rotateMasterKey({ db, keyring, newKey });
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
        ctx.stderr.write(`telehealth keys rotate: a stored value could not be opened with the loaded master key(s) (${err.message}); nothing was changed.\n`);
        return EXIT_FAILED;
      } finally {
        await db.close();
      }
      const summary = `master key rotated ${res.previousKeyId} -> ${res.keyId}: re-wrapped ${res.patientKeys} patient key(s) and ${res.totpSecrets} TOTP secret(s)\n`;
      if (fromEnv) {
        ctx.stdout.write(
          summary +
            `The new key is in ${target} (mode 0600). Update MASTER_KEY in your secret store with its contents, restart every\n` +
            `gateway process, then delete ${target}. Until then, processes started with the old MASTER_KEY cannot open patient data.\n`,
        );
      } else {
        promotePendingMasterKey(cfg);
        ctx.stdout.write(summary + `${cfg.masterKeyPath} now holds the new key. Restart every gateway process.\n`);
      }
      return 0;
    },
  },
];

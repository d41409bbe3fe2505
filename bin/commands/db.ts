/** `telehealth db migrate`: apply pending migrations to the configured database. */
import { parseArgs } from 'node:util';
import { AuditAction, createAuditLog } from '../../core/audit/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import { migrate } from '../../core/db/migrate.ts';
import { openDatabase } from '../../core/db/open.ts';
import type { Command } from './types.ts';

export const dbCommands: Command[] = [
  {
    words: ['db', 'migrate'],
    summary: 'apply pending database migrations (forward-only)',
    help: `Usage: telehealth db migrate

Applies every pending migration in one transaction, under a lock, to PostgreSQL (DATABASE_URL)
or the embedded PGlite database in DATA_DIR. Start-up does the same; this command lets you
migrate before rolling out new gateway processes. With PGlite, stop the running server first.

Exit codes: 0 migrated (or nothing to do), 2 configuration or database problem.`,
    async run(ctx) {
      parseArgs({ args: [...ctx.argv], options: {}, strict: true, allowPositionals: false });
      const cfg = loadConfig(ctx.env);
      const db = await openDatabase(cfg, 'telehealth-cli');
      try {
        const res = await migrate(db);
        if (res.applied.length > 0) {
          await createAuditLog(db).append({
            actorType: 'system',
            actorId: 'cli',
            action: AuditAction.systemDbMigrate,
            outcome: 'success',
            details: { applied: res.applied.join(','), version: res.current },
          });
        }
        ctx.stdout.write(
          res.applied.length === 0
            ? `database is up to date (version ${res.current})\n`
            : `applied ${res.applied.length} migration(s): ${res.applied.join(', ')}; now at version ${res.current}\n`,
        );
        return 0;
      } finally {
        await db.close();
      }
    },
  },
];

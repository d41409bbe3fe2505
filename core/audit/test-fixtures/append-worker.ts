/**
 * Test fixture: a separate OS process appending to the audit chain on PostgreSQL, so the
 * concurrency test exercises the advisory lock across processes rather than one pool.
 * Usage: node append-worker.ts <database-url> <count> <worker-id>
 * Prints `ready` once connected, waits for a line on stdin (so all workers start together),
 * appends <count> entries one transaction each, prints `done`, exits 0.
 */
import { once } from 'node:events';
import { openPostgres } from '../../db/postgres.ts';
import { AuditAction, AuditOutcome, ActorType } from '../actions.ts';
import { createAuditLog } from '../log.ts';

const [url, countArg, workerId] = process.argv.slice(2);
if (!url || !countArg || !workerId) {
  process.stderr.write('usage: append-worker.ts <database-url> <count> <worker-id>\n');
  process.exit(2);
}
const db = await openPostgres({ url, poolMax: 2, applicationName: `audit-worker-${workerId}` });
try {
  const log = createAuditLog(db);
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
  for (let i = 0; i < Number(countArg); i++) {
    await log.append({
      actorType: ActorType.device,
      actorId: workerId,
      action: AuditAction.messageSend,
      outcome: AuditOutcome.success,
      resourceType: 'message',
      resourceId: `${workerId}-${i}`,
      details: { i },
    });
  }
  process.stdout.write('done\n');
} finally {
  await db.close();
}
process.exit(0);

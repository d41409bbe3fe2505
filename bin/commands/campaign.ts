/** `telehealth campaign dead-letters|replay`: the reminder dead-letter view and its replay. */
import { parseArgs } from 'node:util';
import { createAuditLog } from '../../core/audit/index.ts';
import { listDeadLetters, replayDeadLetters } from '../../core/campaigns/dead-letters.ts';
import { reminderQueues } from '../../core/campaigns/queue.ts';
import { loadConfig } from '../../core/config/load.ts';
import { openDatabase } from '../../core/db/open.ts';
import { StartupError } from '../../core/errors.ts';
import { isUuid } from '../../core/ids.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import type { Command } from './types.ts';

const uuidOption = (value: string | undefined, name: string): string | undefined => {
  if (value !== undefined && !isUuid(value)) throw new StartupError(`--${name} must be a UUID`);
  return value;
};

export const campaignCommands: Command[] = [
  {
    words: ['campaign', 'dead-letters'],
    summary: 'list reminder deliveries that failed for good (reason, attempts), optionally for one campaign',
    help: `Usage: telehealth campaign dead-letters [--campaign <id>] [--json]

Reminder deliveries in state failed: the provider refused them (provider_refused) or the outcome
was ambiguous (ambiguous_outcome: check with the provider before replaying). No patient data
is printed: delivery and campaign ids, channel, reason, attempts.

Exit codes: 0 listed (even when empty), 2 configuration problem.`,
    async run(ctx) {
      const { values } = parseArgs({ args: [...ctx.argv], options: { campaign: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
      const cfg = loadConfig(ctx.env);
      const db = await openDatabase(cfg, 'telehealth-cli');
      try {
        const rows = await listDeadLetters(db, uuidOption(values.campaign, 'campaign'));
        if (values.json === true) ctx.stdout.write(`${JSON.stringify(rows)}\n`);
        else if (rows.length === 0) ctx.stdout.write('no failed deliveries\n');
        else {
          ctx.stdout.write('delivery                              campaign                              channel  reason              attempts\n');
          for (const r of rows) ctx.stdout.write(`${r.deliveryId}  ${r.campaignId}  ${r.channel.padEnd(7)}  ${(r.reason ?? '').padEnd(18)}  ${r.attempts}\n`);
        }
        return 0;
      } finally {
        await db.close();
      }
    },
  },
  {
    words: ['campaign', 'replay'],
    summary: 'send failed reminder deliveries again, after the cause is fixed (audited)',
    help: `Usage: telehealth campaign replay --campaign <id> | --delivery <id> [--delivery <id> ...]

Puts failed deliveries back in the queue (audited reminder.replay). Each is re-checked at send
time as on its first attempt: consent, appointment, quiet hours. For ambiguous_outcome, confirm
with the provider that the message was NOT delivered first, or the patient may get it twice.

Exit codes: 0 done (prints how many), 2 configuration or usage problem.`,
    async run(ctx) {
      const { values } = parseArgs({ args: [...ctx.argv], options: { campaign: { type: 'string' }, delivery: { type: 'string', multiple: true } }, strict: true });
      const campaignId = uuidOption(values.campaign, 'campaign');
      const deliveryIds = (values.delivery ?? []).map((d) => uuidOption(d, 'delivery') ?? d);
      if ((campaignId === undefined) === (deliveryIds.length === 0)) throw new StartupError('give either --campaign or one or more --delivery');
      const cfg = loadConfig(ctx.env);
      if (cfg.redisUrl === undefined) throw new StartupError('replay needs REDIS_URL (the Redis the workers use)');
      // Redis first: when it cannot be reached there is no database open yet to leak (PGlite's lock).
      const redis = await connectRedis(cfg.redisUrl);
      const queues = reminderQueues(redis, cfg.queuePrefix);
      try {
        const db = await openDatabase(cfg, 'telehealth-cli');
        try {
          const n = await replayDeadLetters({ db, audit: createAuditLog(db), queues }, campaignId !== undefined ? { campaignId } : { deliveryIds }, { actorType: 'system', actorId: 'cli' });
          ctx.stdout.write(`${n} deliveries queued again\n`);
          return 0;
        } finally {
          await db.close();
        }
      } finally {
        await queues.close();
        await redis.quit();
      }
    },
  },
];

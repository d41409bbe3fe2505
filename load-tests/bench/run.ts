/**
 * `npm run bench -- <name>`: runs one benchmark, prints a human-readable report on stdout, and as
 * its LAST line exactly one JSON object `{"bench","value","unit","baseline","ratio"}` (DESIGN §9).
 * Exit codes: 0 done, 1 the bench failed, 2 unknown or missing name.
 */
import { killAllChildren } from './child-server.ts';
import { httpBench } from './http.ts';
import { mediaBench } from './media.ts';
import { relayBench } from './relay.ts';
import { remindersBench } from './reminders.ts';
import type { BenchResult } from './result.ts';

type Bench = (log: (line: string) => void) => Promise<BenchResult>;

const BENCHES: Readonly<Record<string, Bench>> = {
  http: httpBench,
  media: mediaBench,
  relay: relayBench,
  reminders: remindersBench,
};

const name = process.argv[2];
const bench = name === undefined ? undefined : BENCHES[name];
if (bench === undefined) {
  process.stderr.write(`usage: npm run bench -- <name>\nbenches: ${Object.keys(BENCHES).join(', ')}\n`);
  process.exit(2);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

try {
  const result = await bench((line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  process.stderr.write(`bench ${name ?? ''} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

import { Writable } from 'node:stream';
import { createLogger } from '../core/log/logger.ts';
const sink = new Writable({ write(_c, _e, cb) { cb(); } });
const log = createLogger({ level: 'info', destination: sink });
const noRedact = log.child({}, { redact: [] });
const base = log.child({});
function bench(name: string, n: number, fn: (i: number) => void) {
  for (let i = 0; i < n / 10; i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  console.log(name.padEnd(40), (((performance.now() - t) * 1000) / n).toFixed(2), 'µs');
}
const rid = '0f8fad5b-d9cb-469f-a165-70867728950e';
bench('child from root', 20000, () => log.child({ requestId: rid }));
bench('child from base', 20000, () => base.child({ requestId: rid }));
bench('child from noRedact', 20000, () => noRedact.child({ requestId: rid }));
const c1 = log.child({ requestId: rid });
bench('access line redacting', 20000, (i) => c1.info({ method: 'POST', route: '/bench/echo', status: 200, durationMs: i / 7 }, 'request'));
bench('access line no-redact', 20000, (i) => noRedact.info({ requestId: rid, method: 'POST', route: '/bench/echo', status: 200, durationMs: i / 7 }, 'request'));

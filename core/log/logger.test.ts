import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrub } from './logger.ts';

function capture() {
  const s = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  s.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
    }
  });
  return { s, lines };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('logger redaction', () => {
  it('redacts PHI and secret fields at any depth, in bindings too, case-insensitively', async () => {
    const { s, lines } = capture();
    const log = createLogger({ level: 'info', destination: s, name: 'svc' });
    const child = log.child({ patient: { Email: 'p@example.org', id: 'pat_1' } });
    child.info(
      { user: { phone: '+15551234567', id: 'u1' }, a: { b: { c: { dob: '1990-01-01' } } }, req: { headers: { authorization: 'Bearer t', 'set-cookie': 'sid=1' } }, list: [{ ssn: '123-45-6789' }] },
      'hello',
    );
    await tick();
    const text = JSON.stringify(lines);
    for (const secret of ['p@example.org', '+15551234567', '1990-01-01', 'Bearer t', 'sid=1', '123-45-6789']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ service: 'svc', msg: 'hello', user: { id: 'u1', phone: '[redacted]' }, patient: { id: 'pat_1', Email: '[redacted]' } });
  });

  it('keeps error messages and leaves unchanged objects untouched', async () => {
    const { s, lines } = capture();
    createLogger({ level: 'info', destination: s }).error({ err: new Error('boom') }, 'failed');
    await tick();
    expect(lines[0]).toMatchObject({ err: { message: 'boom' }, msg: 'failed' });
    const o = { a: { b: 1 } };
    expect(scrub(o)).toBe(o);
    expect(scrub({ a: { b: { c: { d: { e: { f: { g: 1 } } } } } } })).toEqual({ a: { b: { c: { d: { e: { f: '[truncated]' } } } } } });
  });
});

describe('logger time', () => {
  it('stamps every line with the current ISO 8601 UTC time (cached per millisecond, never stale)', async () => {
    const { s, lines } = capture();
    const log = createLogger({ level: 'info', destination: s });
    log.info('one');
    await new Promise((r) => setTimeout(r, 5));
    log.info('two');
    await tick();
    const [a, b] = lines.map((l) => String(l['time']));
    expect(a).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Math.abs(Date.parse(b ?? '') - Date.now())).toBeLessThan(1000);
    expect(Date.parse(b ?? '')).toBeGreaterThan(Date.parse(a ?? ''));
  });
});

/**
 * Automatic logoff (HIPAA 164.312(a)(2)(iii)) through the real all-in-one process: the first
 * admin is bootstrapped with the CLI, signs in over HTTP (password, TOTP enrollment), opens the
 * authenticated WebSocket, and then does nothing. With a 1 s idle timeout the socket is closed
 * with 4401/idle, the token no longer works over HTTP, and the chain holds exactly one
 * session.expire.idle record.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { generate } from 'otplib';
import { afterEach, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { createAdminCommands } from '../../bin/commands/admin.ts';
import { startAllInOne, type RunningProcess } from '../../bin/main.ts';
import { loadConfig } from '../../core/config/load.ts';
import { openDatabase } from '../../core/db/open.ts';
import { createLogger } from '../../core/log/logger.ts';

const PASSWORD = 'a long and unguessable passphrase 7';
const sink = new Writable({ write: (_c, _e, done) => done() });

describe('automatic logoff end to end', () => {
  const dirs: string[] = [];
  let running: RunningProcess | undefined;
  afterEach(async () => {
    await running?.close('test');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('closes the idle session’s WebSocket with 4401/idle and refuses its token over HTTP', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'th-idle-'));
    dirs.push(dataDir);
    const env = { APP_ENV: 'test', PORT: '0', DATA_DIR: dataDir, REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: `idle-${randomUUID().slice(0, 8)}:`, SESSION_IDLE_TIMEOUT_SEC: '1', SESSION_SWEEP_INTERVAL_MS: '100', LOG_LEVEL: 'warn' };

    const [createUser] = createAdminCommands({ stdin: Readable.from([`${PASSWORD}\n`]) });
    if (createUser === undefined) throw new Error('no admin command');
    const out: string[] = [];
    const stdout = new Writable({ write: (c: Buffer, _e, done) => (out.push(c.toString()), done()) });
    const code = await createUser.run({ argv: ['--username', 'first-admin', '--role', 'admin', '--display-name', 'First Admin', '--password-stdin'], stdout, stderr: stdout, env, interactive: false });
    expect(code, out.join('')).toBe(0);

    const config = loadConfig(env);
    running = await startAllInOne(config, createLogger({ level: 'warn', destination: sink }));
    const base = running.url;
    const post = async (p: string, body: unknown) => {
      const res = await fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, `${p}: ${res.status}`).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    const { challenge } = (await post('/auth/login', { username: 'first-admin', password: PASSWORD })) as { challenge: string };
    const { secret } = (await post('/auth/mfa/enroll', { challenge })) as { secret: string };
    const signedIn = (await post('/auth/mfa/enroll/confirm', { challenge, code: await generate({ secret }), mode: 'bearer' })) as { token: string; session: { id: string } };
    const token = signedIn.token;

    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` } });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (c, r) => resolve({ code: c, reason: r.toString() })));
    const frames: string[] = [];
    ws.on('message', (d: Buffer) => frames.push(d.toString()));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });

    const ended = await closed;
    expect(ended).toEqual({ code: 4401, reason: 'idle' });
    expect(frames.map((f) => JSON.parse(f) as { type: string })).toEqual(expect.arrayContaining([{ type: 'ready' }, { type: 'session.ended', reason: 'idle' }]));

    const after = await fetch(`${base}/auth/session`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    // The dead token cannot open a new socket either: refused in the upgrade, before any WebSocket exists.
    const refused = await new Promise<number>((resolve, reject) => {
      const again = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` } });
      again.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      again.once('open', () => reject(new Error('upgrade accepted with an ended session')));
      again.once('error', () => undefined);
    });
    expect(refused).toBe(401);

    await running.close('test');
    running = undefined;
    const db = await openDatabase(config, 'test');
    try {
      const rows = await db.query<{ resource_id: string }>("SELECT resource_id FROM audit_log WHERE action = 'session.expire.idle'");
      expect(rows).toEqual([{ resource_id: signedIn.session.id }]);
      const refusals = await db.query<{ details: Record<string, unknown> }>("SELECT details FROM audit_log WHERE action = 'access.denied'");
      expect(refusals.map((r) => r.details)).toEqual(expect.arrayContaining([{ reason: 'session_invalid', channel: 'GET' }, { reason: 'session_invalid', channel: 'websocket' }]));
    } finally {
      await db.close();
    }
  }, 60_000);
});

/**
 * PostgreSQL restarted (fast shutdown, then started again on the same port and data directory)
 * while a gateway process is under a steady load of end-to-end-encrypted sends. The cluster is
 * this test's own (test/helpers/process-faults.ts), so no other test file sees the outage. During
 * the outage every send must fail fast with 503 and the JSON error body (no crash, no hang past
 * the client's timeout); afterwards the gateway serves again by itself; every send it answered
 * with 2xx reaches the recipient exactly once; and the audit chain verifies.
 *
 * OBSERVED FAILURE (product bugs, not fixed here; see the issue 8 fault-test report):
 *  1. Every run: sends during the outage are answered 500 `internal_error`, not 503
 *     `service_unavailable` — core/db/postgres.ts passes pg's connection errors (ECONNREFUSED,
 *     57P01 admin_shutdown, "Connection terminated") through untyped, so gateway/http/on-error.ts
 *     treats them as unknown errors.
 *  2. About half the runs: the gateway process dies with an uncaught `Error: Connection terminated
 *     unexpectedly` emitted on a pg Client — a client checked out of the pool by
 *     `transaction()` has no 'error' listener (pool.on('error') covers idle clients only).
 * Nothing acknowledged was lost or duplicated in any run, and the chain verified.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../core/config/load.ts';
import { loadMasterKeyring } from '../../core/crypto/index.ts';
import { openPostgres } from '../../core/db/postgres.ts';
import { sleep } from '../../core/net.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import { createGatewayTransport, Messenger, SdkError } from '../../sdk/index.ts';
import { newDevice, Recorder, seedingIdentity, seedPeople, storeFactory } from '../helpers/messaging.ts';
import { auditVerify, deploymentEnv, faultTeardown, printCounts, RestartablePostgres, spawnTelehealth, stopChild, tempDir, until } from '../helpers/process-faults.ts';

/** The client's per-request timeout: a request during the outage must be answered well within it. */
const CLIENT_TIMEOUT_MS = 10_000;
const SENDERS = 2;
const OUTAGE_MS = 2_000;
const { children, cleanups } = faultTeardown();

interface Outcome {
  readonly text: string;
  readonly at: number;
  readonly ms: number;
  /** 'ok' (2xx), else the gateway's status and code, or the SDK's code when it got no answer. */
  readonly result: 'ok' | { readonly status: number | undefined; readonly code: string };
}

/** "N× 503 service_unavailable, M× ok" over a run of outcomes, in order of first appearance. */
function summary(outcomes: readonly Outcome[]): string {
  const kinds = new Map<string, number>();
  for (const o of outcomes) {
    const k = o.result === 'ok' ? 'ok' : `${String(o.result.status)} ${o.result.code}`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  return [...kinds].map(([k, c]) => `${c}× ${k}`).join(', ') || 'none';
}

describe('PostgreSQL restarted under load', () => {
  it('sends during the outage get 503 JSON, the gateway recovers by itself, every acknowledged send is delivered exactly once', async () => {
    const postgres = await RestartablePostgres.start();
    cleanups.push(() => postgres.close());
    const dataDir = tempDir('th-fault-pg-gw-');
    cleanups.push(() => dataDir.remove());
    const env = {
      ...deploymentEnv({ databaseUrl: postgres.url, redisUrl: inject('redisUrl'), dataDir: dataDir.path, tag: 'pgr' }),
      // The senders retry at once through the outage; the per-account send limit is not under test.
      MESSAGE_SEND_PER_MINUTE: '100000',
    };
    // The gateway migrates the empty cluster on start-up.
    const gateway = await spawnTelehealth(['start'], { ...env, PORT: '0' }, /listening on (http:\/\/\S+)/);
    children.push(gateway);
    const url = gateway.match[1] ?? '';

    const db = await openPostgres({ url: postgres.url, poolMax: 4 });
    cleanups.push(() => db.close());
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.disconnect());
    const config = loadConfig({ ...env, APP_ENV: 'test', PORT: '0' });
    const identity = seedingIdentity({ db, redis, config, keyPrefix: config.redisKeyPrefix, keyring: loadMasterKeyring(config) });
    cleanups.push(() => identity.sessions.close());
    const { provider, patient } = await seedPeople(identity, db);
    const stores = storeFactory();
    cleanups.push(() => stores.cleanup());

    const pat = await newDevice(stores, url, patient.token, patient.userId, 'patient');
    cleanups.push(() => pat.messenger.close());
    await pat.messenger.start();
    const proStore = await stores.open();
    const proMessenger = new Messenger({ store: proStore, transport: createGatewayTransport({ baseUrl: url, token: provider.token, timeoutMs: CLIENT_TIMEOUT_MS }) });
    cleanups.push(() => proMessenger.close());
    await proMessenger.registerDevice(provider.id, 'provider');
    const pro = new Recorder('provider', proMessenger);
    const tag = randomUUID().slice(0, 8);
    // The session with the patient exists before the load (the first send fetches the bundle).
    await proMessenger.sendText(patient.userId, `warm-up ${tag}`);
    await pat.recorder.until('the warm-up text', () => pat.recorder.texts().includes(`warm-up ${tag}`));

    const outcomes: Outcome[] = [];
    let stop = false;
    let n = 0;
    const sender = async (): Promise<void> => {
      while (!stop) {
        const text = `load ${tag} #${n++}`;
        const at = Date.now();
        try {
          await proMessenger.sendText(patient.userId, text);
          outcomes.push({ text, at, ms: Date.now() - at, result: 'ok' });
        } catch (err) {
          const e = err instanceof SdkError ? { status: err.status, code: err.code } : { status: undefined, code: String(err) };
          outcomes.push({ text, at, ms: Date.now() - at, result: e });
          await sleep(20);
        }
      }
    };
    const load = Promise.all(Array.from({ length: SENDERS }, () => sender()));

    await until('some sends before the restart', () => outcomes.filter((o) => o.result === 'ok').length >= 20, 20_000, 10);
    const downAt = Date.now();
    await postgres.stopFast();
    await sleep(OUTAGE_MS);
    await postgres.start();
    const upAt = Date.now();
    let recoveryMs = -1;
    await until(
      'ten sends in a row answered 2xx after the restart',
      () => {
        const after = outcomes.filter((o) => o.at >= upAt);
        const last = after.slice(-10);
        const ok = last.length === 10 && last.every((o) => o.result === 'ok');
        const firstOk = after.find((o) => o.result === 'ok');
        if (ok && firstOk) recoveryMs = firstOk.at + firstOk.ms - upAt;
        return ok;
      },
      30_000,
      20,
    ).catch((err: unknown) => {
      stop = true;
      throw new Error(`${String(err)}; the gateway ${gateway.alive() ? 'is running' : 'exited'}; sends after the restart: ${summary(outcomes.filter((o) => o.at >= upAt))}; its log: ${gateway.stderr().slice(-1500)}`);
    });
    stop = true;
    await load;

    const acked = outcomes.filter((o) => o.result === 'ok').map((o) => o.text);
    const failed = outcomes.filter((o) => o.result !== 'ok');
    const failedKinds = [...new Set(failed.map((o) => (o.result === 'ok' ? '' : `${String(o.result.status)} ${o.result.code}`)))];
    await pat.recorder.until('every acknowledged send', () => acked.every((text) => pat.recorder.texts().includes(text)), 20_000).catch(() => undefined);
    const counts = new Map<string, number>();
    for (const x of pat.recorder.texts()) counts.set(x, (counts.get(x) ?? 0) + 1);
    const lost = acked.filter((x) => !counts.has(x)).length;
    const duplicated = [...counts.values()].reduce((sum, c) => sum + (c - 1), 0);
    // A send answered with an error that nevertheless arrived: not a loss or a duplicate, but worth knowing.
    const failedButDelivered = failed.filter((o) => counts.has(o.text)).length;

    expect(gateway.alive(), `the gateway exited: ${gateway.stderr()}`).toBe(true);
    await pat.messenger.close();
    await proMessenger.close();
    await stopChild(gateway);
    const chain = await auditVerify(env);
    printCounts({
      test: 'postgres-restart-under-load',
      sent: acked.length,
      delivered: acked.filter((x) => counts.has(x)).length,
      lost,
      duplicated,
      chainOk: chain.ok,
      recoveryMs,
      attempts: outcomes.length,
      failed: failed.length,
      failedKinds,
      failedButDelivered,
      slowestMs: Math.max(...outcomes.map((o) => o.ms)),
      outageMs: upAt - downAt,
    });

    expect(failed.length, 'no send failed: the outage was not seen').toBeGreaterThan(0);
    expect(failedKinds).toEqual(['503 service_unavailable']);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(CLIENT_TIMEOUT_MS);
    expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
    expect(pat.recorder.events.decryptError).toEqual([]);
    expect(pro.events.error).toEqual([]);
    expect(chain.ok, chain.output).toBe(true);
  }, 90_000);
});

/**
 * `npm run load -- messaging`: N device pairs (provider ↔ their care-team patient, SDK Messenger
 * clients over /ws) each send M end-to-end-encrypted texts spread evenly over the duration,
 * open-loop (a slow answer does not slow the senders down, so queueing shows in the latency).
 * Every text carries its own id; the recipient's decrypted `message` events are counted per id,
 * which proves delivered exactly once (0 lost, 0 duplicated) across the whole path: SDK encrypt,
 * PUT /v1/messages, durable store, pub/sub, socket push, decrypt, local store commit, ack.
 *
 * Metrics: send_http_ms (PUT accepted: texts and delivery receipts), send_call_ms (sendText from
 * call to return: encrypt, PUT, own-device sync, store commit, queueing), e2e_ms (sendText called
 * → decrypted at the recipient), counts, and error_rate (failed sends and client-reported errors
 * over sends plus deliveries). One warm-up exchange per pair first sets up the libsignal sessions
 * (PQXDH), so the measured part is the steady state.
 */
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { Counter, Rate, Trend, type MetricSummary } from './metrics.ts';
import { closeDevice, LOAD_DEVICE_PREKEYS, seedPair, type Device, type Pair } from './messaging-pairs.ts';
import { firstSignIn, mapLimit } from './seed.ts';
import { every, sleep, type Scenario, type ScenarioContext, type ScenarioOutcome } from './scenario.ts';

/** How long delivery may trail the last send before a message counts as lost. */
const SETTLE_MS = 15_000;
/** After everything arrived: time for a duplicate to show up. */
const DUPLICATE_GRACE_MS = 1_000;
const SETUP_CONCURRENCY = 4;
const FILLER = 'x'.repeat(160);
const SHM = '/dev/shm';

interface Sent {
  readonly t0: number;
  accepted: boolean;
  arrivals: number;
}

/** Text ids: `lt:<pair>:<p|q>:<seq>` for measured texts, `lt:<pair>:w:<p|q>` for the warm-up. */
const TextId = z.string().regex(/^lt:\d+:(?:[pq]:\d+|w:[pq])$/);

class Tracker {
  readonly sent = new Map<string, Sent>();
  readonly e2e = new Trend();
  readonly sendCall = new Trend();
  readonly ops = new Rate();
  readonly receipts = new Counter();
  readonly clientErrors: string[] = [];
  readonly rawSeen = new Map<string, number>();
  lastArrival = 0;
  readonly #waiters = new Map<string, () => void>();

  arrived(text: string): void {
    const id = text.split('|', 1)[0] ?? '';
    if (!TextId.safeParse(id).success) {
      this.clientError('a text that this run did not send arrived');
      return;
    }
    const s = this.sent.get(id);
    if (s !== undefined) {
      s.arrivals++;
      if (s.arrivals === 1) {
        this.lastArrival = performance.now();
        this.e2e.add(this.lastArrival - s.t0);
        this.ops.add(false);
      }
    }
    this.#waiters.get(id)?.();
  }

  waitFor(id: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`warm-up text ${id} did not arrive within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.set(id, () => {
        clearTimeout(timer);
        this.#waiters.delete(id);
        resolve();
      });
    });
  }

  clientError(what: string): void {
    this.ops.add(true);
    if (this.clientErrors.length < 20) this.clientErrors.push(what);
  }

  counts(): { accepted: number; delivered: number; lost: number; duplicated: number } {
    let accepted = 0;
    let delivered = 0;
    let lost = 0;
    let duplicated = 0;
    for (const s of this.sent.values()) {
      if (s.accepted) accepted++;
      if (s.arrivals > 0) delivered++;
      else if (s.accepted) lost++;
      if (s.arrivals > 1) duplicated += s.arrivals - 1;
    }
    return { accepted, delivered, lost, duplicated };
  }
}

/**
 * The devices' local stores go on tmpfs (/dev/shm) where there is one: every store commit is an
 * fsync, and forty clients sharing this machine's one disk is a harness artefact — each real
 * client has its own.
 */
async function storeParent(): Promise<string> {
  try {
    await access(SHM, constants.W_OK);
    return SHM;
  } catch {
    // No writable tmpfs here: the ordinary temp dir still works, only slower.
    return tmpdir();
  }
}

function listen(device: Device, tracker: Tracker): void {
  const m = device.messenger;
  m.on('message', (e) => tracker.arrived(e.message.text));
  m.on('receipt', () => tracker.receipts.add());
  m.on('decryptError', (e) => tracker.clientError(`${device.name}: decrypt error ${e.error.code} on envelope ${e.envelopeId}`));
  m.on('error', (e) => tracker.clientError(`${device.name}: ${e.error.message}`));
  m.on('sessionEnded', (e) => tracker.clientError(`${device.name}: session ended (${e.reason})`));
}

async function send(from: Device, to: Device, id: string, tracker: Tracker): Promise<void> {
  const s: Sent = { t0: performance.now(), accepted: false, arrivals: 0 };
  tracker.sent.set(id, s);
  try {
    await from.messenger.sendText(to.userId, `${id}|${FILLER}`);
    s.accepted = true;
    tracker.sendCall.add(performance.now() - s.t0);
    tracker.ops.add(false);
  } catch (err) {
    tracker.clientError(`${from.name}: send ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One exchange each way, outside the measurement: sets up the libsignal sessions. */
async function warmUp(pair: Pair, tracker: Tracker): Promise<void> {
  for (const [from, to, dir] of [[pair.provider, pair.patient, 'p'], [pair.patient, pair.provider, 'q']] as const) {
    const id = `lt:${pair.index}:w:${dir}`;
    const arrived = tracker.waitFor(id, 30_000);
    await from.messenger.sendText(to.userId, `${id}|warm-up`);
    await arrived;
  }
}

async function run(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const { options, progress } = ctx;
  const deployment = await ctx.deploy();
  const { baseUrl } = deployment;
  const tracker = new Tracker();
  const dir = await mkdtemp(path.join(await storeParent(), 'th-load-stores-'));
  const pairs: Pair[] = [];
  try {
    const admin = await firstSignIn(baseUrl, deployment.admin.username, deployment.admin.password);
    progress(`seeding ${options.vus} provider/patient pairs and registering ${options.vus * 2} devices`);
    const probes = {
      sendHttp: new Trend(),
      onRawEnvelope: (id: string) => tracker.rawSeen.set(id, (tracker.rawSeen.get(id) ?? 0) + 1),
    };
    await mapLimit(
      Array.from({ length: options.vus }, (_, i) => i),
      SETUP_CONCURRENCY,
      async (index) => {
        const pair = await seedPair({ baseUrl, adminToken: admin.token, dir, index, probes });
        pairs.push(pair);
        for (const d of [pair.provider, pair.patient]) {
          listen(d, tracker);
          await d.messenger.start();
        }
      },
    );
    await mapLimit(pairs, SETUP_CONCURRENCY, (p) => warmUp(p, tracker));
    // The warm-up is not measured.
    const warm = probes.sendHttp.count;
    const measuredHttp = new Trend();
    probes.sendHttp = measuredHttp;
    const warmReceipts = tracker.receipts.value;
    progress(`warm-up done (${warm} PUTs); sending ${options.iterations} texts per device over ${options.duration} s`);

    const devices = pairs.flatMap((p) => [
      { from: p.provider, to: p.patient, prefix: `lt:${p.index}:p:` },
      { from: p.patient, to: p.provider, prefix: `lt:${p.index}:q:` },
    ]);
    const total = devices.length * options.iterations;
    const intervalMs = (options.duration * 1000) / options.iterations;
    const start = performance.now();
    const stopProgress = every(2000, () => {
      const c = tracker.counts();
      progress(`${((performance.now() - start) / 1000).toFixed(0).padStart(4)} s  sent ${tracker.sent.size}/${total}  accepted ${c.accepted}  delivered ${c.delivered}  errors ${tracker.ops.failures}`);
    });
    try {
      // Each device on its own schedule, offset so the devices do not fire together.
      const inFlight: Promise<void>[] = [];
      await Promise.all(
        devices.map(async (d, k) => {
          const phase = (k / devices.length) * intervalMs;
          for (let seq = 0; seq < options.iterations; seq++) {
            await sleep(start + phase + seq * intervalMs - performance.now());
            inFlight.push(send(d.from, d.to, `${d.prefix}${seq}`, tracker));
          }
        }),
      );
      await Promise.all(inFlight);
      const settleBy = performance.now() + SETTLE_MS;
      while (tracker.counts().lost > 0 && performance.now() < settleBy) await sleep(50);
      await sleep(DUPLICATE_GRACE_MS);
    } finally {
      stopProgress();
    }
    // Throughput over the time it took: first send to last delivery.
    const seconds = (tracker.lastArrival - start) / 1000;
    const c = tracker.counts();
    let redelivered = 0;
    for (const n of tracker.rawSeen.values()) if (n > 1) redelivered += n - 1;
    const metrics: Record<string, MetricSummary> = {
      send_http_ms: measuredHttp.summary(),
      send_call_ms: tracker.sendCall.summary(),
      e2e_ms: tracker.e2e.summary(),
      texts_sent: { type: 'counter', value: tracker.sent.size },
      texts_accepted: { type: 'counter', value: c.accepted },
      texts_delivered: { type: 'counter', value: c.delivered },
      lost: { type: 'counter', value: c.lost },
      duplicated: { type: 'counter', value: c.duplicated },
      receipts_received: { type: 'counter', value: tracker.receipts.value - warmReceipts },
      redelivered_envelopes: { type: 'counter', value: redelivered },
      texts_per_second: { type: 'counter', value: Math.round((c.delivered / seconds) * 10) / 10 },
      error_rate: tracker.ops.summary(),
    };
    return {
      metrics,
      thresholds: [
        { metric: 'e2e_ms', stat: 'p95', op: '<', limit: 500 },
        { metric: 'e2e_ms', stat: 'p99', op: '<', limit: 1000 },
        { metric: 'send_http_ms', stat: 'p95', op: '<', limit: 300 },
        { metric: 'error_rate', stat: 'value', op: '<', limit: 0.01 },
        { metric: 'lost', stat: 'value', op: '==', limit: 0 },
        { metric: 'duplicated', stat: 'value', op: '==', limit: 0 },
        { metric: 'texts_sent', stat: 'value', op: '==', limit: total },
      ],
      notes: [
        `${pairs.length} pairs = ${devices.length} devices on /ws; one text every ${intervalMs.toFixed(0)} ms per device; delivery receipts on`,
        `load devices register ${LOAD_DEVICE_PREKEYS} one-time prekeys each (not 100); their local stores are under ${path.dirname(dir)}`,
        ...tracker.clientErrors.slice(0, 5).map((e) => `client error: ${e}`),
      ],
    };
  } finally {
    for (const p of pairs) {
      await closeDevice(p.provider);
      await closeDevice(p.patient);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

export const messagingScenario: Scenario = {
  name: 'messaging',
  summary: 'device pairs (provider ↔ care-team patient) exchanging E2E-encrypted texts over /ws',
  iterationsMean: 'texts each device sends (spread over --duration)',
  // 10 pairs × 1 text/s per device = 20 texts/s plus 20 receipts/s: what a 2-core machine shared
  // between the harness, the server and Redis sustains inside the thresholds (docs/load.md).
  defaults: { vus: 10, duration: 30, iterations: 30 },
  settings: { MESSAGE_SEND_PER_MINUTE: '100000' },
  settingsWhy: ['MESSAGE_SEND_PER_MINUTE=100000: the per-account abuse limit (default 120/min) would otherwise cap the senders, and it is not what is measured'],
  run,
};

/**
 * `bench relay`: 1 KB envelopes sender → gateway → recipient device over WebSocket, against a raw
 * `ws` echo server measured in the same run. Both are driven the same way: a window of messages
 * in flight, each timed from the moment it is sent until the receiving side has it.
 *
 * The gateway side is the real path: an authenticated PUT /v1/messages (validation, access
 * policy, device-list check, durable store, audit record, pub/sub notice) and a push on the
 * recipient's subscribed socket, which acknowledges what it received (deleting it). Every
 * envelope carries a sequence number in its opaque bytes, so the run proves 0 lost and 0
 * duplicated. It also reports the gateway's resident memory per idle open connection.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { WebSocket } from 'ws';
import { startChildServer, type ChildServer } from './child-server.ts';
import { median } from './load.ts';
import type { BenchResult } from './result.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ECHO_SCRIPT = path.join(import.meta.dirname, 'raw-ws-echo-server.ts');
const TARGET_SCRIPT = path.join(ROOT, 'gateway', 'bench', 'relay-target.ts');

const PAYLOAD_BYTES = 1024;
const WINDOW = 32;
const WARMUP_SECONDS = 2;
const RUN_SECONDS = 5;
const ROUNDS = 3;
const IDLE_SOCKETS = 500;

/** What the relay target prints after its port (base64url JSON). */
interface TargetInfo {
  readonly senderToken: string;
  readonly senderDevice: number;
  readonly recipientToken: string;
  readonly recipientUserId: string;
  readonly recipientDevice: number;
  readonly recipientRegistrationId: number;
}

interface Run {
  readonly perSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly lost: number;
  readonly duplicated: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summarize(sent: number, latencies: number[], seen: Map<number, number>, seconds: number): Run {
  latencies.sort((a, b) => a - b);
  let duplicated = 0;
  for (const n of seen.values()) if (n > 1) duplicated += n - 1;
  return { perSec: latencies.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), lost: sent - seen.size, duplicated };
}

/** Frames carry `<seq as 8 bytes><random>`; the receiver reads the seq back. */
function payload(seq: number, filler: Buffer): Buffer {
  const b = Buffer.from(filler);
  b.writeBigUInt64BE(BigInt(seq), 0);
  return b;
}

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Drives `send(seq)` with WINDOW in flight for `seconds`; `onReceive` is called by the receiver. */
async function windowed(seconds: number, send: (seq: number) => Promise<void>, arrivals: { on: (fn: (seq: number) => void) => void }): Promise<Run> {
  const started = new Map<number, number>();
  const seen = new Map<number, number>();
  const latencies: number[] = [];
  let next = 0;
  let sent = 0;
  let stopping = false;
  const waiting: (() => void)[] = [];
  arrivals.on((seq) => {
    seen.set(seq, (seen.get(seq) ?? 0) + 1);
    const t0 = started.get(seq);
    if (t0 !== undefined && seen.get(seq) === 1) latencies.push(performance.now() - t0);
    for (const w of waiting.splice(0)) w();
  });
  const deadline = performance.now() + seconds * 1000;
  const pump = async (): Promise<void> => {
    while (!stopping) {
      if (performance.now() >= deadline) {
        stopping = true;
        break;
      }
      const seq = next++;
      started.set(seq, performance.now());
      await send(seq);
      sent++;
      // Wait for the window to open: at most WINDOW sent and not yet received.
      while (sent - seen.size >= WINDOW && !stopping) await new Promise<void>((r) => waiting.push(r));
    }
  };
  // A lost message must not hang the run: at the deadline every waiting sender is released.
  const stopTimer = setTimeout(() => {
    stopping = true;
    for (const w of waiting.splice(0)) w();
  }, seconds * 1000);
  try {
    await Promise.all(Array.from({ length: WINDOW }, pump));
  } finally {
    clearTimeout(stopTimer);
  }
  // Let the stragglers arrive.
  const settleBy = performance.now() + 5000;
  while (seen.size < sent && performance.now() < settleBy) await new Promise((r) => setTimeout(r, 20));
  return summarize(sent, latencies, seen, seconds);
}

async function echoRun(port: number, seconds: number): Promise<Run> {
  const ws = await open(`ws://127.0.0.1:${port}/`);
  const filler = randomBytes(PAYLOAD_BYTES);
  let handler: (seq: number) => void = () => undefined;
  ws.on('message', (data: Buffer) => handler(Number(data.readBigUInt64BE(0))));
  try {
    return await windowed(seconds, (seq) => new Promise<void>((resolve, reject) => ws.send(payload(seq, filler), (err) => (err ? reject(err) : resolve()))), {
      on: (fn) => (handler = fn),
    });
  } finally {
    ws.close();
  }
}

async function relayRun(port: number, info: TargetInfo, seconds: number): Promise<Run> {
  const base = `http://127.0.0.1:${port}`;
  const ws = await open(`ws://127.0.0.1:${port}/ws`, { authorization: `Bearer ${info.recipientToken}` });
  let handler: (seq: number) => void = () => undefined;
  const toAck: string[] = [];
  const subscribed = new Promise<void>((resolve) => {
    ws.on('message', (raw: Buffer) => {
      const frame = JSON.parse(raw.toString('utf8')) as { type: string; envelope?: { id: string; content: string } };
      if (frame.type === 'messages.drained') resolve();
      if (frame.type === 'message' && frame.envelope) {
        toAck.push(frame.envelope.id);
        handler(Number(Buffer.from(frame.envelope.content, 'base64').readBigUInt64BE(0)));
      }
    });
  });
  ws.send(JSON.stringify({ type: 'messages.subscribe', deviceId: info.recipientDevice }));
  await subscribed;
  const acker = setInterval(() => {
    while (toAck.length > 0) ws.send(JSON.stringify({ type: 'messages.ack', ids: toAck.splice(0, 100) }));
  }, 20);
  const filler = randomBytes(PAYLOAD_BYTES);
  const url = `${base}/v1/messages/${info.recipientUserId}`;
  const headers = { authorization: `Bearer ${info.senderToken}`, 'content-type': 'application/json' };
  try {
    return await windowed(
      seconds,
      async (seq) => {
        const body = JSON.stringify({
          senderDevice: info.senderDevice,
          messages: [{ deviceId: info.recipientDevice, registrationId: info.recipientRegistrationId, type: 2, content: payload(seq, filler).toString('base64') }],
        });
        const res = await fetch(url, { method: 'PUT', headers, body });
        if (res.status !== 200) throw new Error(`send answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
        await res.arrayBuffer();
      },
      { on: (fn) => (handler = fn) },
    );
  } finally {
    clearInterval(acker);
    while (toAck.length > 0) ws.send(JSON.stringify({ type: 'messages.ack', ids: toAck.splice(0, 100) }));
    ws.close();
  }
}

interface Heap {
  readonly heapUsed: number;
  readonly external: number;
  readonly rss: number;
}

async function heapOf(port: number): Promise<Heap> {
  const res = await fetch(`http://127.0.0.1:${port}/bench/heap`);
  if (res.status !== 200) throw new Error(`/bench/heap answered ${res.status}`);
  return (await res.json()) as Heap;
}

/**
 * What the gateway holds per idle authenticated socket: JS heap plus external memory (buffers)
 * after full collections, before and after opening IDLE_SOCKETS. Kernel socket buffers are not
 * the process's and are not counted.
 */
async function idleMemoryPerSocket(server: ChildServer, info: TargetInfo): Promise<{ heap: number; rss: number }> {
  const before = await heapOf(server.port);
  const sockets: WebSocket[] = [];
  for (let i = 0; i < IDLE_SOCKETS; i++) sockets.push(await open(`ws://127.0.0.1:${server.port}/ws`, { authorization: `Bearer ${info.recipientToken}` }));
  await new Promise((r) => setTimeout(r, 500));
  const after = await heapOf(server.port);
  for (const s of sockets) s.terminate();
  return { heap: (after.heapUsed + after.external - before.heapUsed - before.external) / IDLE_SOCKETS, rss: (after.rss - before.rss) / IDLE_SOCKETS };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function relayBench(log: (line: string) => void): Promise<BenchResult> {
  const started: ChildServer[] = [];
  try {
    const echo = await startChildServer('raw ws echo', ECHO_SCRIPT);
    started.push(echo);
    const target = await startChildServer('gateway relay', TARGET_SCRIPT);
    started.push(target);
    if (target.token === undefined) throw new Error('the relay target printed no details');
    const info = JSON.parse(Buffer.from(target.token, 'base64url').toString('utf8')) as TargetInfo;

    log(`1 KB envelopes, window ${WINDOW}; warming up ${WARMUP_SECONDS} s each, then ${ROUNDS} rotating rounds of ${RUN_SECONDS} s`);
    await echoRun(echo.port, WARMUP_SECONDS);
    await relayRun(target.port, info, WARMUP_SECONDS);
    const echoRuns: Run[] = [];
    const relayRuns: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['echo', 'relay'] : ['relay', 'echo'];
      for (const which of order) {
        if (which === 'echo') echoRuns.push(await echoRun(echo.port, RUN_SECONDS));
        else relayRuns.push(await relayRun(target.port, info, RUN_SECONDS));
      }
      log(`round ${round + 1}: raw ws echo ${fmt(echoRuns[round]?.perSec ?? 0)} msg/s, gateway relay ${fmt(relayRuns[round]?.perSec ?? 0)} msg/s`);
    }
    const lost = relayRuns.reduce((n, r) => n + r.lost, 0);
    const duplicated = relayRuns.reduce((n, r) => n + r.duplicated, 0);
    const row = (name: string, runs: Run[]) =>
      `${name.padEnd(22)}${fmt(median(runs.map((r) => r.perSec))).padStart(10)}${median(runs.map((r) => r.p50Ms)).toFixed(2).padStart(9)}${median(runs.map((r) => r.p99Ms)).toFixed(2).padStart(9)}`;
    log('');
    log(`${'path'.padEnd(22)}${'msg/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`);
    log(row('raw ws echo', echoRuns));
    log(row('gateway relay', relayRuns));
    const memory = await idleMemoryPerSocket(target, info);
    const rate = median(relayRuns.map((r) => r.perSec));
    const base = median(echoRuns.map((r) => r.perSec));
    const p99Ratio = median(relayRuns.map((r) => r.p99Ms)) / median(echoRuns.map((r) => r.p99Ms));
    log(`lost ${lost}, duplicated ${duplicated}; p99 ${p99Ratio.toFixed(1)}x the echo's (target <= 3x)`);
    log(`idle memory per open connection: ${(memory.heap / 1024).toFixed(1)} KB heap + buffers (target <= 20 KB); resident ${(memory.rss / 1024).toFixed(1)} KB`);
    log(`ratio ${(rate / base).toFixed(3)} (target >= 0.5)`);
    if (lost > 0 || duplicated > 0) throw new Error(`relay lost ${lost} and duplicated ${duplicated} envelopes`);
    return { bench: 'relay', value: Math.round(rate), unit: 'msg/s', baseline: Math.round(base), ratio: Math.round((rate / base) * 1000) / 1000 };
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}

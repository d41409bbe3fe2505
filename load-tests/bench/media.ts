/**
 * `bench media`: how many video consumers one mediasoup worker (one core) forwards at ≤ 1% loss,
 * against mediasoup's published ~500 consumers per worker.
 *
 * The SFU is a child process (media/bench/media-target.ts) running the real worker binary with the
 * rooms' codecs. This process feeds its one producer a synthetic ~1.1 Mbit/s, 30 fps VP8 stream
 * (plausible payload descriptors, keyframes every 2 s and on PLI) and ramps the number of consumers,
 * each on its own SRTP PlainTransport, so the worker encrypts every packet once per consumer as it
 * does for browsers. A sink worker_thread counts packets per SSRC. Each window is counted exactly:
 * the sender pauses and the SFU drains before and after it (media-window.ts), so loss is what some
 * consumer never got. Each step also reads the worker's CPU from /proc and the kernel's UDP drop
 * counters of the sink's and the worker's sockets, so a drop in the bench's own receiver is visible
 * and not blamed on mediasoup. A plain-Node fan-out of twice the largest step's load into the same
 * sink is the sink's same-run reference.
 */
import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { startChildServer, type ChildServer } from './child-server.ts';
import { startFeed, startSink, type Paced, type Sink } from './media-io.ts';
import { cpuTime, hostCpu, mappedLibraries, udpDrops, type CpuTime, type HostCpu } from './media-proc.ts';
import { BITS_PER_SECOND, PACKET_BYTES, PACKETS_PER_SECOND, VP8_PAYLOAD_TYPE } from './media-rtp.ts';
import { countWindow, drained, lossOf, startBlaster, type WindowCount } from './media-window.ts';
import type { BenchResult } from './result.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TARGET_SCRIPT = path.join(ROOT, 'media', 'bench', 'media-target.ts');

const STEPS = [100, 200, 300, 400, 500, 600, 700, 800, 1000, 1200, 1500, 2000] as const;
const MAX_LOSS = 0.01;
/**
 * A worker still delivering the window this long after the sender paused has fallen behind real
 * time: the backlog grows until its input queue overflows, so the step is not sustainable.
 */
const MAX_DRAIN_MS = 200;
/** mediasoup's documented capacity: "~500 consumers in total" per worker. */
const BASELINE_PER_CORE = 500;
const START_WAIT_MS = 3000;
const WARMUP_MS = 1000;
const WINDOW_MS = 3000;
const DRAIN_MAX_MS = 3000;
/** The ramp stops adding steps past this, so the whole bench stays under ~2 minutes. */
const RAMP_BUDGET_MS = 75_000;
/** The search's final step between counts. */
const RESOLUTION = 25;
const SINK_SOCKETS = 4;
const SINK_RECV_BUFFER = 4 * 1024 * 1024;
const SRTP_TAG_BYTES = 10;

interface Step {
  readonly consumers: number;
  readonly setupSeconds: number;
  readonly window: WindowCount;
  readonly seconds: number;
  /** How long the SFU took to deliver the window's last packets after the sender paused. */
  readonly drainMs: number;
  readonly workerCpu: CpuTime;
  readonly benchCpu: number;
  readonly targetCpu: number;
  /** Busy share of the whole machine (all cores) in the window: >~ worker + bench means other work ran. */
  readonly hostBusy: number;
  /** Interrupt + softirq share of the machine: the kernel's packet delivery on loopback. */
  readonly hostIrq: number;
  readonly sinkDrops: number;
  readonly workerDrops: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function api<T>(port: number, method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? null : JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

interface Probe {
  readonly at: number;
  readonly worker: CpuTime | undefined;
  readonly target: CpuTime;
  readonly bench: NodeJS.CpuUsage;
  readonly host: HostCpu;
}

interface Rig {
  readonly sink: Sink;
  readonly sinkPorts: ReadonlySet<number>;
  readonly workerPorts: ReadonlySet<number>;
  readonly workerPid: number | undefined;
  /** The target's Node process (control plane only): counted so it is not mistaken for other work. */
  readonly targetPid: number;
}

function probe(rig: Rig): Probe {
  return { at: performance.now(), worker: rig.workerPid === undefined ? undefined : cpuTime(rig.workerPid), target: cpuTime(rig.targetPid), bench: process.cpuUsage(), host: hostCpu() };
}

/**
 * Waits until every stream has delivered (or START_WAIT_MS) and warms up; then pauses the sender,
 * lets the SFU drain, counts, sends for WINDOW_MS, pauses and drains again, and counts again.
 * CPU is read over the sending part; kernel drops and the sink's counts over the whole, drains
 * included, so late packets count as received and dropped ones as lost.
 */
async function measureWindow(rig: Rig, consumers: number, setupSeconds: number, ssrcs: readonly number[], sender: Paced): Promise<Step> {
  const until = performance.now() + START_WAIT_MS;
  while (performance.now() < until) {
    const snap = await rig.sink.snapshot();
    if (ssrcs.every((s) => snap.streams.has(s))) break;
    await sleep(100);
  }
  await sleep(WARMUP_MS);
  sender.pause();
  const before = await drained(rig.sink, ssrcs, DRAIN_MAX_MS);
  const drops0 = { sink: udpDrops(rig.sinkPorts), worker: udpDrops(rig.workerPorts) };
  const sent0 = sender.packetsSent;
  const a = probe(rig);
  sender.resume();
  await sleep(WINDOW_MS);
  sender.pause();
  const b = probe(rig);
  const sent = sender.packetsSent - sent0;
  const after = await drained(rig.sink, ssrcs, DRAIN_MAX_MS);
  const drops1 = { sink: udpDrops(rig.sinkPorts), worker: udpDrops(rig.workerPorts) };
  sender.resume();
  const seconds = (b.at - a.at) / 1000;
  const bench = process.cpuUsage(a.bench);
  const hostTicks = Math.max(1, b.host.total - a.host.total);
  return {
    consumers,
    setupSeconds,
    window: countWindow(ssrcs, before.snap, after.snap, sent),
    seconds,
    drainMs: after.waitedMs,
    workerCpu: {
      userSeconds: (b.worker?.userSeconds ?? 0) - (a.worker?.userSeconds ?? 0),
      systemSeconds: (b.worker?.systemSeconds ?? 0) - (a.worker?.systemSeconds ?? 0),
    },
    benchCpu: (bench.user + bench.system) / 1e6,
    targetCpu: b.target.userSeconds + b.target.systemSeconds - a.target.userSeconds - a.target.systemSeconds,
    hostBusy: (b.host.busy - a.host.busy) / hostTicks,
    hostIrq: (b.host.irq - a.host.irq) / hostTicks,
    sinkDrops: drops1.sink - drops0.sink,
    workerDrops: drops1.worker - drops0.worker,
  };
}

const pct = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)}%`;
const HEADER = `${'consumers'.padStart(9)}${'out pkt/s'.padStart(11)}${'Mbit/s'.padStart(8)}${'loss'.padStart(8)}${'worker CPU (usr+sys)'.padStart(22)}${'bench CPU'.padStart(11)}${'host busy'.padStart(11)}${'(softirq)'.padStart(10)}${'sink drops'.padStart(12)}${'worker-in drops'.padStart(17)}${'silent'.padStart(8)}${'drain ms'.padStart(10)}${'setup s'.padStart(9)}`;

function row(label: string, s: Step): string {
  const pps = s.window.received / s.seconds;
  const cpu = `${pct((s.workerCpu.userSeconds + s.workerCpu.systemSeconds) / s.seconds, 0)} (${pct(s.workerCpu.userSeconds / s.seconds, 0)}+${pct(s.workerCpu.systemSeconds / s.seconds, 0)})`;
  return `${label.padStart(9)}${Math.round(pps).toLocaleString('en-US').padStart(11)}${((pps * (PACKET_BYTES + SRTP_TAG_BYTES) * 8) / 1e6).toFixed(0).padStart(8)}${pct(lossOf(s.window), 2).padStart(8)}${cpu.padStart(22)}${pct(s.benchCpu / s.seconds, 0).padStart(11)}${pct(s.hostBusy, 0).padStart(11)}${`(${pct(s.hostIrq, 0)})`.padStart(10)}${String(s.sinkDrops).padStart(12)}${String(s.workerDrops).padStart(17)}${String(s.window.silent).padStart(8)}${Math.round(s.drainMs).toString().padStart(10)}${s.setupSeconds.toFixed(1).padStart(9)}`;
}

const passes = (s: Step): boolean => lossOf(s.window) <= MAX_LOSS && s.drainMs <= MAX_DRAIN_MS;

/**
 * Finds the largest sustainable count: up the coarse STEPS until one fails, then bisects to
 * RESOLUTION, then measures the answer again (and steps down while the second look fails), so a
 * lucky window on a shared machine does not make it. Stops adding steps past RAMP_BUDGET_MS.
 */
async function search(run: (n: number, label: string) => Promise<Step>): Promise<void> {
  const started = performance.now();
  const inBudget = (): boolean => performance.now() - started < RAMP_BUDGET_MS;
  let lo = 0;
  let hi = 0;
  for (const n of STEPS) {
    if (!inBudget()) return;
    if (passes(await run(n, String(n)))) lo = n;
    else {
      hi = n;
      break;
    }
  }
  if (hi === 0) return;
  while (hi - lo > RESOLUTION && inBudget()) {
    const mid: number = Math.round((lo + hi) / 2 / RESOLUTION) * RESOLUTION;
    if (passes(await run(mid, String(mid)))) lo = mid;
    else hi = mid;
  }
  while (lo > 0 && inBudget() && !passes(await run(lo, `${lo} (2)`))) lo -= RESOLUTION;
}

export async function mediaBench(log: (line: string) => void): Promise<BenchResult> {
  const started: ChildServer[] = [];
  let sink: Sink | undefined;
  let feed: Paced | undefined;
  try {
    const target = await startChildServer('mediasoup fan-out', TARGET_SCRIPT);
    started.push(target);
    const { workerPid } = await api<{ workerPid: number }>(target.port, 'GET', '/info');
    sink = await startSink({ sockets: SINK_SOCKETS, recvBufferBytes: SINK_RECV_BUFFER });
    const sinks = sink.ports.map((port) => ({ ip: '127.0.0.1', port }));
    const ssrc = randomInt(1, 2 ** 31);
    const producer = await api<{ ip: string; port: number }>(target.port, 'POST', '/producer', { ssrc, payloadType: VP8_PAYLOAD_TYPE });
    const liveFeed = await startFeed(ssrc, producer.port);
    feed = liveFeed;
    const rig: Rig = { sink, sinkPorts: new Set(sink.ports), workerPorts: new Set([producer.port]), workerPid, targetPid: target.pid };

    log(`1 mediasoup worker (pid ${workerPid}); 1 VP8 producer, ${(BITS_PER_SECOND / 1e6).toFixed(2)} Mbit/s, ${PACKETS_PER_SECOND} pkt/s of ${PACKET_BYTES} B, 30 fps`);
    const cryptoLibs = mappedLibraries(workerPid, /^lib(srtp|ssl|crypto|softokn|freebl|nss)/);
    log(`worker's shared SRTP/crypto libraries: ${cryptoLibs.length === 0 ? 'none (statically linked, as in the official prebuilt)' : cryptoLibs.join(', ')}`);
    log(`each consumer on its own PlainTransport with SRTP (AES_CM_128_HMAC_SHA1_80) → ${SINK_SOCKETS} sink sockets in a worker_thread`);
    log(`per step: consumers added, ${WARMUP_MS / 1000} s warm-up after all deliver, ${WINDOW_MS / 1000} s window; pass = loss <= ${pct(MAX_LOSS, 0)} and the worker keeps up (drains within ${MAX_DRAIN_MS} ms of the sender pausing)`);
    log(`worker and bench CPU are % of one core; host busy is of all ${availableParallelism()} cores, softirq (kernel packet delivery, charged to no process) included`);
    log('');
    log(HEADER);
    const steps: Step[] = [];
    const runStep = async (n: number, label: string): Promise<Step> => {
      const t0 = performance.now();
      const { ssrcs } = await api<{ ssrcs: number[] }>(target.port, 'POST', '/consumers', { count: n, sinks });
      const step = await measureWindow(rig, n, (performance.now() - t0) / 1000, ssrcs, liveFeed);
      steps.push(step);
      log(row(label, step));
      return step;
    };
    await search(runStep);

    // Same-run reference for the receiver: the worker idle, plain Node sends twice the largest step's load.
    await api(target.port, 'POST', '/consumers', { count: 0, sinks });
    const refCount = 2 * Math.max(0, ...steps.map((s) => s.consumers));
    sink.reset();
    const blaster = await startBlaster(refCount, sink.ports);
    let reference: Step;
    try {
      reference = await measureWindow({ ...rig, workerPid: undefined }, refCount, 0, blaster.ssrcs, blaster);
    } finally {
      blaster.close();
    }
    log(row(`ref ${refCount}`, reference));
    log(`(ref = plain Node dgram fan-out of the same stream to ${refCount} SSRCs into the same sink, worker idle: the sink's own capacity)`);
    log('');

    // The answer: the largest count every measurement of which passed.
    const counts = [...new Set(steps.map((s) => s.consumers))];
    const value = Math.max(0, ...counts.filter((n) => steps.filter((s) => s.consumers === n).every(passes)));
    const best = steps.filter((s) => s.consumers === value).at(-1);
    const firstFail = steps.filter((s) => !passes(s)).sort((x, y) => x.consumers - y.consumers)[0];
    if (best !== undefined) {
      const cpu = (best.workerCpu.userSeconds + best.workerCpu.systemSeconds) / best.seconds;
      log(`largest passing N: ${value} consumers on one worker (loss ${pct(lossOf(best.window), 2)}, drained in ${Math.round(best.drainMs)} ms), worker CPU ${pct(cpu, 0)} of a core`);
      if (firstFail === undefined) {
        log(`NOT saturated: no step lost more than 1% up to ${value}; extrapolated by CPU (label: estimate) ~${Math.round(value / Math.max(cpu, 0.01))} consumers/core`);
      }
    }
    if (firstFail !== undefined) {
      const lost = Math.max(0, firstFail.window.expected - firstFail.window.received);
      const where =
        lost === 0
          ? 'none lost yet, but the worker fell behind real time (its backlog grows until its input queue overflows)'
          : firstFail.sinkDrops >= lost / 2
            ? `mostly in the bench's sink (${firstFail.sinkDrops} kernel drops on its sockets): a LOWER BOUND for mediasoup`
            : `not in the sink's socket queues (${firstFail.sinkDrops} drops there): the worker is the limit`;
      log(`first failing step: ${firstFail.consumers} consumers, loss ${pct(lossOf(firstFail.window), 2)}, drained ${Math.round(firstFail.drainMs)} ms after the sender paused; ${lost} packets lost: ${where}`);
    }
    const others = steps.map((st) => (st.hostBusy - st.hostIrq) * availableParallelism() - (st.workerCpu.userSeconds + st.workerCpu.systemSeconds + st.benchCpu + st.targetCpu) / st.seconds);
    const busiest = Math.max(0, ...others);
    if (busiest > 0.2) log(`WARNING: other work used up to ${busiest.toFixed(2)} cores during the windows: the worker competed for CPU, results are pessimistic`);
    log(`reference: the sink took ${Math.round(reference.window.received / reference.seconds).toLocaleString('en-US')} pkt/s at ${pct(lossOf(reference.window), 2)} loss with ${reference.sinkDrops} kernel drops`);
    log("caveats: on loopback the kernel delivers each datagram inside the sender's send call (softirq, on the worker's core), so receive-side kernel work competes with the worker; the sink sends no RTCP feedback, so NACK retransmissions and bandwidth-estimation reactions are not exercised");
    if (cryptoLibs.some((lib) => lib.startsWith('libnss'))) {
      log("note: this worker's SRTP runs on the system libsrtp2 over NSS, not the official prebuilt's bundled libsrtp + OpenSSL");
    }
    log(`consumers per worker core: ${value} vs mediasoup's published ~${BASELINE_PER_CORE} (target >= 400)`);
    return { bench: 'media', value, unit: 'consumers/core', baseline: BASELINE_PER_CORE, ratio: Math.round((value / BASELINE_PER_CORE) * 1000) / 1000 };
  } finally {
    feed?.close();
    await sink?.close();
    await Promise.all(started.map((s) => s.stop()));
  }
}

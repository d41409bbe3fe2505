/**
 * `npm run load -- visit-join`: bursts of patients joining their video visits at the same moment,
 * the way the top of a clinic hour looks. In each burst every patient, at the same instant,
 * redeems its single-use visit link (POST /visit-links/redeem), opens the authenticated
 * WebSocket, sends `video.join` and lands in the lobby; meanwhile the visit's provider opens its
 * own socket (one browser tab per visit), joins as host, sees the lobby entry and admits, and the
 * patient receives `video.state: admitted`. Real gateway, real mediasoup worker pool (a router per
 * room); no media flows (the browser e2e test covers that), so this measures the join path:
 * link redemption, session creation, socket authentication, access checks, room opening, audit
 * writes and signaling fan-out.
 *
 * --vus visits per burst, --iterations bursts, spread evenly over --duration, open-loop (a slow
 * burst does not delay the next one). Metrics: redeem_ms, ws_ready_ms (patient socket open →
 * `ready`), lobby_ms (patient `video.join` answered), admitted_ms (patient `video.join` sent →
 * admitted), join_total_ms (redeem start → admitted), host_join_ms, counters visits/admitted,
 * and error_rate (visits in which any step failed).
 */
import { WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import { api } from './api.ts';
import { Counter, Rate, Trend, type MetricSummary } from './metrics.ts';
import { createPatient, createStaff, firstSignIn, mapLimit } from './seed.ts';
import { sleep, type Scenario, type ScenarioContext, type ScenarioOutcome } from './scenario.ts';

const SETUP_CONCURRENCY = 8;
/** Provider accounts; visits go round-robin, so each hosts several rooms per burst (one socket each). */
const MAX_PROVIDERS = 4;
/**
 * Appointments start this far ahead: inside the visit-link lead (VISIT_LINK_LEAD_MINUTES, 15 by
 * default), so links redeem and rooms open at once, while the visits are still booked as upcoming.
 */
const START_AHEAD_MS = 5 * 60_000;
/** Booked length beyond the run's duration: the room must not close at the visit's end mid-run. */
const BOOKED_MS = 2 * 3_600_000;
/** One step (socket open, one request, one awaited event) slower than this fails its visit. */
const STEP_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 5_000;
const MAX_NOTED_ERRORS = 5;

const Id = z.object({ id: z.string() });
const Link = z.object({ id: z.string(), url: z.string() });
const Redeemed = z.object({ token: z.string(), appointmentId: z.string() });
const Frame = z.looseObject({ type: z.string() });
type Frame = z.infer<typeof Frame>;
const Result = z.union([
  z.looseObject({ type: z.literal('video.result'), reqId: z.number().int(), ok: z.literal(true), data: z.unknown() }),
  z.looseObject({ type: z.literal('video.result'), reqId: z.number().int(), ok: z.literal(false), error: z.looseObject({ code: z.string() }) }),
]);
const Participant = z.looseObject({ peerId: z.string(), role: z.string(), state: z.string() });
const Joined = z.looseObject({ peerId: z.string(), role: z.string(), state: z.string(), participants: z.array(Participant) });
const ParticipantsEvent = z.looseObject({ type: z.literal('video.participants'), participants: z.array(Participant) });
const StateEvent = z.looseObject({ type: z.literal('video.state'), state: z.string() });

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function parsed<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what}: unexpected shape`);
  return r.data;
}

interface Received {
  readonly frame: Frame;
  /** performance.now() at arrival: a wait that starts after the frame came still measures its arrival. */
  readonly at: number;
}

interface Waiter {
  readonly match: (f: Frame) => boolean;
  readonly resolve: (r: Received) => void;
  readonly reject: (err: Error) => void;
}

/**
 * A small signaling client on /ws: bearer-authenticated upgrade, `ready`, requests correlated by
 * `reqId`, and waits for events. Event-driven rather than polled, so a wait resolves the moment
 * its frame arrives and polling granularity does not end up in the latencies.
 */
class SignalSocket {
  readonly #ws: WebSocket;
  readonly #received: Received[] = [];
  readonly #waiters = new Set<Waiter>();
  #nextReqId = 1;
  #gone: Error | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    // ws reports a refused upgrade (401, 403…) as an error, then a close.
    ws.on('error', (err) => this.#end(new Error(`socket error: ${err.message}`)));
    ws.on('close', (code) => this.#end(new Error(`socket closed (${code})`)));
  }

  static async open(wsUrl: string, token: string): Promise<SignalSocket> {
    const s = new SignalSocket(new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } }));
    try {
      await s.until('ready', (f) => f.type === 'ready');
    } catch (err) {
      s.#ws.terminate();
      throw err;
    }
    return s;
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const at = performance.now();
    if (isBinary) return this.#end(new Error('the gateway sent a binary frame'));
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.#end(new Error('the gateway sent a frame that is not JSON'));
    }
    const f = Frame.safeParse(json);
    if (!f.success) return this.#end(new Error('the gateway sent a frame without a type'));
    const r: Received = { frame: f.data, at };
    this.#received.push(r);
    for (const w of this.#waiters) {
      if (!w.match(r.frame)) continue;
      this.#waiters.delete(w);
      w.resolve(r);
    }
  }

  #end(err: Error): void {
    this.#gone ??= err;
    for (const w of this.#waiters) w.reject(this.#gone);
    this.#waiters.clear();
  }

  /** The first frame (already received or still to come) that matches; rejects on timeout or when the socket goes. */
  until(what: string, match: (f: Frame) => boolean): Promise<Received> {
    const hit = this.#received.find((r) => match(r.frame));
    if (hit !== undefined) return Promise.resolve(hit);
    if (this.#gone !== undefined) return Promise.reject(new Error(`${what}: ${this.#gone.message}`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(new Error(`${what}: ${err.message}`));
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`${what}: nothing within ${STEP_TIMEOUT_MS} ms`));
      }, STEP_TIMEOUT_MS);
      this.#waiters.add(waiter);
    });
  }

  /** Sends a request; resolves with the `data` of its `video.result` and when it arrived, or throws with the refusal code. */
  async request(type: string, payload: Readonly<Record<string, unknown>>): Promise<{ data: unknown; at: number }> {
    const reqId = this.#nextReqId++;
    const answer = this.until(`${type} answer`, (f) => f.type === 'video.result' && f['reqId'] === reqId);
    this.#ws.send(JSON.stringify({ type, reqId, ...payload }));
    const { frame, at } = await answer;
    const result = parsed(Result, frame, `${type} answer`);
    if (!result.ok) throw new Error(`${type} refused: ${result.error.code}`);
    return { data: result.data, at };
  }

  /** Closes and waits for the close handshake (or cuts the connection after CLOSE_TIMEOUT_MS). */
  close(): Promise<void> {
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        ws.terminate();
        resolve();
      }, CLOSE_TIMEOUT_MS);
      ws.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      ws.close(1000);
    });
  }
}

interface Visit {
  readonly index: number;
  readonly appointmentId: string;
  /** The visit link's token (its URL fragment). */
  readonly linkToken: string;
  readonly providerToken: string;
}

interface Env {
  readonly baseUrl: string;
  readonly wsUrl: string;
}

class Measures {
  readonly redeem = new Trend();
  readonly wsReady = new Trend();
  readonly lobby = new Trend();
  readonly admittedMs = new Trend();
  readonly total = new Trend();
  readonly hostJoin = new Trend();
  readonly visits = new Counter();
  readonly admitted = new Counter();
  readonly errors = new Rate();
  readonly firstErrors: string[] = [];
  /** Patients admitted before their own `video.join` was answered (see patientSide). */
  admittedFirst = 0;
}

/**
 * One visit's two sides. The first failure is the visit's cause; it closes the visit's sockets so
 * the other side stops waiting at once (its own resulting errors are consequences, not counted).
 */
class VisitRun {
  failure: string | undefined;
  readonly sockets: SignalSocket[] = [];

  async open(wsUrl: string, token: string): Promise<SignalSocket> {
    const s = await SignalSocket.open(wsUrl, token);
    this.sockets.push(s);
    if (this.failure !== undefined) {
      await s.close();
      throw new Error('the visit already failed');
    }
    return s;
  }

  fail(side: string, err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = `${side}: ${messageOf(err)}`;
    for (const s of this.sockets) void s.close();
  }
}

/** The patient: redeem, socket, join (lobby), then wait to be admitted. */
async function patientSide(v: Visit, env: Env, m: Measures, run: VisitRun): Promise<void> {
  const t0 = performance.now();
  const redeemed = await api(env.baseUrl, { method: 'POST', path: '/visit-links/redeem', body: { token: v.linkToken, mode: 'bearer' } }, Redeemed);
  m.redeem.add(redeemed.ms);
  if (redeemed.body.appointmentId !== v.appointmentId) throw new Error(`the link redeemed for appointment ${redeemed.body.appointmentId}, not ${v.appointmentId}`);
  const tWs = performance.now();
  const sock = await run.open(env.wsUrl, redeemed.body.token);
  m.wsReady.add(performance.now() - tWs);
  const tJoin = performance.now();
  const answer = await sock.request('video.join', { appointmentId: v.appointmentId });
  const joined = parsed(Joined, answer.data, 'patient video.join data');
  m.lobby.add(answer.at - tJoin);
  if (joined.role !== 'patient') throw new Error(`joined as ${joined.role}, expected patient`);
  // The host can see (and admit) the patient while the patient's own join is still being
  // audited; then `video.state: admitted` arrives first and the answer already says admitted.
  if (joined.state === 'admitted') m.admittedFirst++;
  else if (joined.state !== 'lobby') throw new Error(`joined in state ${joined.state}`);
  const admitted = await sock.until('admission', (f) => {
    const e = StateEvent.safeParse(f);
    return e.success && e.data.state === 'admitted';
  });
  m.admittedMs.add(admitted.at - tJoin);
  m.total.add(admitted.at - t0);
  m.admitted.add();
}

const lobbyPatient = (participants: readonly z.infer<typeof Participant>[]): string | undefined => participants.find((p) => p.role === 'patient' && p.state === 'lobby')?.peerId;

/**
 * The provider: socket, join as host, admit the patient as soon as the lobby entry shows (in the
 * join answer when the patient was first, else in a `video.participants` event). No human delay:
 * what admitted_ms measures is the server and the signaling round trips.
 */
async function hostSide(v: Visit, env: Env, m: Measures, run: VisitRun): Promise<void> {
  const sock = await run.open(env.wsUrl, v.providerToken);
  const tJoin = performance.now();
  const answer = await sock.request('video.join', { appointmentId: v.appointmentId });
  const joined = parsed(Joined, answer.data, 'host video.join data');
  m.hostJoin.add(answer.at - tJoin);
  if (joined.role !== 'host' || joined.state !== 'admitted') throw new Error(`joined as ${joined.role}/${joined.state}, expected host/admitted`);
  let peerId = lobbyPatient(joined.participants);
  if (peerId === undefined) {
    const { frame } = await sock.until('the lobby entry', (f) => {
      const e = ParticipantsEvent.safeParse(f);
      return e.success && lobbyPatient(e.data.participants) !== undefined;
    });
    peerId = lobbyPatient(parsed(ParticipantsEvent, frame, 'video.participants').participants);
  }
  if (peerId === undefined) throw new Error('no lobby entry to admit');
  await sock.request('video.lobby.admit', { peerId });
}

async function runVisit(v: Visit, env: Env, m: Measures): Promise<VisitRun> {
  const run = new VisitRun();
  m.visits.add();
  await Promise.all([
    patientSide(v, env, m, run).catch((err: unknown) => run.fail('patient', err)),
    hostSide(v, env, m, run).catch((err: unknown) => run.fail('provider', err)),
  ]);
  m.errors.add(run.failure !== undefined);
  if (run.failure !== undefined && m.firstErrors.length < MAX_NOTED_ERRORS) m.firstErrors.push(`visit ${v.index}: ${run.failure}`);
  return run;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Providers, care-team patients, one appointment and one link per visit; none of it measured. */
async function seed(ctx: ScenarioContext, baseUrl: string, admin: { username: string; password: string }): Promise<{ visits: Visit[]; providers: number }> {
  const { options, progress } = ctx;
  const total = options.vus * options.iterations;
  const providerCount = Math.min(MAX_PROVIDERS, options.vus);
  const adminToken = (await firstSignIn(baseUrl, admin.username, admin.password)).token;
  progress(`seeding ${providerCount} providers and ${total} patients, each with an appointment and a visit link`);
  const providers = await mapLimit(range(providerCount), SETUP_CONCURRENCY, async (i) => {
    const staff = await createStaff(baseUrl, adminToken, 'provider', `load-vprov-${String(i).padStart(4, '0')}`);
    return { id: staff.id, token: (await firstSignIn(baseUrl, staff.username, staff.password)).token };
  });
  const startsAt = new Date(Date.now() + START_AHEAD_MS);
  const endsAt = new Date(startsAt.getTime() + BOOKED_MS + options.duration * 1000);
  const visits = await mapLimit(range(total), SETUP_CONCURRENCY, async (index) => {
    const provider = providers[index % providers.length];
    if (provider === undefined) throw new Error('no provider to book with');
    const token = provider.token;
    // Registered by the provider, so on their care team: they may book and host the visit.
    const patientId = await createPatient(baseUrl, token, index);
    const appt = { patientId, providerId: provider.id, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString() };
    const appointmentId = (await api(baseUrl, { method: 'POST', path: '/appointments', token, body: appt }, Id)).body.id;
    const link = (await api(baseUrl, { method: 'POST', path: `/appointments/${appointmentId}/visit-links`, token }, Link)).body;
    const linkToken = new URL(link.url).hash.slice(1);
    if (linkToken === '') throw new Error(`visit link ${link.id} has no token in its fragment`);
    return { index, appointmentId, linkToken, providerToken: token };
  });
  return { visits, providers: providerCount };
}

async function run(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const { options, progress } = ctx;
  const deployment = await ctx.deploy();
  const env: Env = { baseUrl: deployment.baseUrl, wsUrl: `${deployment.baseUrl.replace(/^http/, 'ws')}/ws` };
  const { visits, providers } = await seed(ctx, env.baseUrl, deployment.admin);
  const total = visits.length;
  const m = new Measures();
  const intervalMs = (options.duration * 1000) / options.iterations;
  progress(`${options.iterations} bursts of ${options.vus} simultaneous visit joins, one every ${(intervalMs / 1000).toFixed(1)} s`);

  let running = 0;
  let overlapped = 0;
  const start = performance.now();
  await Promise.all(
    range(options.iterations).map(async (k) => {
      await sleep(start + k * intervalMs - performance.now());
      if (running > 0) overlapped++;
      running++;
      const t0 = performance.now();
      const failedBefore = m.errors.failures;
      // Every visit of the burst starts in this same tick: the patients all arrive at once.
      const runs = await Promise.all(visits.slice(k * options.vus, (k + 1) * options.vus).map((v) => runVisit(v, env, m)));
      const seconds = (performance.now() - t0) / 1000;
      await Promise.all(runs.flatMap((r) => r.sockets.map((s) => s.close())));
      running--;
      progress(`burst ${k + 1}/${options.iterations}: ${runs.length} visits in ${seconds.toFixed(2)} s, ${m.errors.failures - failedBefore} failed; admitted so far ${m.admitted.value}/${total}`);
    }),
  );

  const metrics: Record<string, MetricSummary> = {
    redeem_ms: m.redeem.summary(),
    ws_ready_ms: m.wsReady.summary(),
    lobby_ms: m.lobby.summary(),
    admitted_ms: m.admittedMs.summary(),
    join_total_ms: m.total.summary(),
    host_join_ms: m.hostJoin.summary(),
    visits: m.visits.summary(),
    admitted: m.admitted.summary(),
    error_rate: m.errors.summary(),
  };
  return {
    metrics,
    thresholds: [
      { metric: 'admitted', stat: 'value', op: '==', limit: total },
      { metric: 'error_rate', stat: 'value', op: '==', limit: 0 },
      { metric: 'redeem_ms', stat: 'p95', op: '<', limit: 1000 },
      { metric: 'join_total_ms', stat: 'p95', op: '<', limit: 3000 },
    ],
    notes: [
      `${total} visits: ${options.iterations} bursts of ${options.vus}, one every ${(intervalMs / 1000).toFixed(1)} s, open-loop${overlapped > 0 ? ` (${overlapped} bursts started while an earlier one was still running)` : ''}`,
      `${providers} provider accounts, visits round-robin; each visit's host on its own socket (a tab per visit) with the provider's one bearer session, joining at the same instant as the patient`,
      'the harness provider admits as soon as the lobby entry shows (no human delay); no media transports or producers: the join path only',
      `${m.admittedFirst} patients were admitted before their own video.join was answered (the host saw them in the lobby first); the rest waited in the lobby`,
      'server settings at their defaults: redeem throttling counts failures only, each socket sends at most 2 signaling requests (VIDEO_SIGNAL_PER_SECOND 30), each room holds 2 (VIDEO_ROOM_CAPACITY 6)',
      ...m.firstErrors,
    ],
  };
}

export const visitJoinScenario: Scenario = {
  name: 'visit-join',
  summary: 'bursts of patients redeeming visit links and joining the video lobby at once; providers admit',
  iterationsMean: 'bursts (spread evenly over --duration)',
  defaults: { vus: 20, duration: 30, iterations: 3 },
  settings: {},
  settingsWhy: [],
  run,
};

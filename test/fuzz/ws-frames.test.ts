/**
 * Fuzzes the authenticated WebSocket (/ws) of a real gateway with a real mediasoup worker: every
 * client frame kind of core/protocol (messaging subscribe/ack, every video signaling request,
 * campaign watch/unwatch, ping) with fast-check payloads (declared keys with wrong types, real ids
 * mixed in so frames reach the handlers and mediasoup), and garbage (not JSON, binary, invalid
 * UTF-8, oversized frames, raw bytes under the WebSocket framing). The server must answer with a
 * typed error or close with a documented code — never an internal error — and a socket (the same
 * one, or a new one) must still work afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ClientFrames } from '../../core/protocol/messaging.ts';
import { VideoRequests, VideoResult } from '../../core/protocol/video.ts';
import { CloseCode } from '../../gateway/ws/ws-client.ts';
import { redeem, startVideoWorld, type VideoWorld } from '../helpers/video.ts';
import { anyJson, anyString, FUZZ_SEED } from './arbitraries.ts';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 250);
const ANSWER_MS = 5_000;

/**
 * Close codes a fuzzed socket may legitimately end with: ours (ws-client.ts CloseCode: too many
 * invalid frames / frames in flight, frame too big) and the RFC 6455 ones the ws library sends for
 * broken framing (1002 protocol error, 1007 invalid UTF-8 in a text frame).
 */
const DOCUMENTED_CLOSES = new Set<number>([CloseCode.policyViolation, CloseCode.tooBig, 1002, 1007]);

type Frame = Record<string, unknown> & { type: string };

/** Every client frame kind with its payload keys (the hub adds `type`). */
const KINDS: readonly { type: string; keys: readonly string[] }[] = [
  { type: 'ping', keys: [] },
  { type: 'campaign.watch', keys: ['campaignId'] },
  { type: 'campaign.unwatch', keys: ['campaignId'] },
  ...Object.entries(ClientFrames).map(([type, schema]) => ({ type, keys: Object.keys(schema.shape) })),
  ...Object.entries(VideoRequests).map(([type, schema]) => ({ type, keys: Object.keys(schema.shape) })),
];

class FuzzSocket {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => this.frames.push(JSON.parse(data.toString('utf8')) as Frame));
    ws.on('close', (code) => (this.closeCode = code));
    ws.on('error', () => undefined); // the close code is what the property looks at
  }

  static async open(url: string, token: string): Promise<FuzzSocket> {
    const s = new FuzzSocket(new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` } }));
    await s.until(() => s.frames.some((f) => f.type === 'ready'), 'ready');
    return s;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  async until(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + ANSWER_MS;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`no ${what} within ${ANSWER_MS} ms (frames: ${JSON.stringify(this.frames.slice(-5)).slice(0, 500)})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Sends a ping and waits for its pong, or for the socket to close. */
  async settle(): Promise<'pong' | 'closed'> {
    if (!this.open) {
      await this.until(() => this.closeCode !== undefined, 'close');
      return 'closed';
    }
    const pongs = this.frames.filter((f) => f.type === 'pong').length;
    this.ws.send(JSON.stringify({ type: 'ping' }));
    await this.until(() => this.closeCode !== undefined || this.frames.filter((f) => f.type === 'pong').length > pongs, 'pong or close');
    return this.closeCode === undefined ? 'pong' : 'closed';
  }
}

/** What a server frame must not be: an internal error, an untyped error, a malformed result. */
function frameProblem(f: Frame): string | undefined {
  if (f.type === 'error') {
    if (typeof f['code'] !== 'string' || typeof f['message'] !== 'string') return `untyped error frame ${JSON.stringify(f)}`;
    if (f['code'] === 'internal_error') return `internal error frame ${JSON.stringify(f)}`;
  }
  if (f.type === 'video.result') {
    if (!VideoResult.safeParse(f).success) return `malformed video.result ${JSON.stringify(f).slice(0, 300)}`;
    const code = (f['error'] as { code?: unknown } | undefined)?.code;
    if (code === 'internal_error') return `internal error result ${JSON.stringify(f)}`;
  }
  return undefined;
}

/** Upgrades a raw TCP connection to /ws (bearer auth) and hands back the socket after the 101. */
async function rawUpgrade(url: string, token: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(['GET /ws HTTP/1.1', `Host: ${hostname}:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', `Authorization: Bearer ${token}`, '', ''].join('\r\n'));
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`upgrade refused: ${head.split('\r\n')[0] ?? ''}`));
    };
    socket.on('data', onData);
  });
  return socket;
}

let w: VideoWorld;
let visitToken: string;
beforeAll(async () => {
  // A high signaling rate so the fuzzer reaches the handlers rather than the rate limiter.
  w = await startVideoWorld({ env: { VIDEO_SIGNAL_PER_SECOND: '1000' } });
  const redeemed = await redeem(w.gateway.url, await w.newLinkToken());
  visitToken = String(redeemed.body['token']);
}, 60_000);
afterAll(async () => {
  await w.close();
});

describe('WebSocket frame fuzzing (real gateway, real mediasoup worker)', () => {
  it('answers every fuzzed frame with a typed error or a documented close, and a socket still works after', async () => {
    const sockets: Record<string, FuzzSocket | undefined> = {};
    /** Ids a payload may reuse, so frames get past validation into the handlers and mediasoup. */
    const known: string[] = [w.appointmentId];
    const get = async (who: 'provider' | 'patient' | 'visit'): Promise<FuzzSocket> => {
      const current = sockets[who];
      if (current?.open) return current;
      const token = who === 'provider' ? w.people.provider.token : who === 'patient' ? w.people.patient.token : visitToken;
      const s = await FuzzSocket.open(w.gateway.url, token);
      sockets[who] = s;
      if (who !== 'patient') {
        // Into the room, with a transport: video frames then reach mediasoup.
        s.ws.send(JSON.stringify({ type: 'video.join', reqId: 1, appointmentId: w.appointmentId }));
        s.ws.send(JSON.stringify({ type: 'video.transport.create', reqId: 2, direction: 'send' }));
        await s.until(() => s.frames.some((f) => f.type === 'video.result' && f['reqId'] === 2), 'transport');
        const created = s.frames.find((f) => f.type === 'video.result' && f['reqId'] === 2 && f['ok'] === true);
        const data = (created?.['data'] ?? {}) as Record<string, unknown>;
        if (typeof data['transportId'] === 'string') known.push(data['transportId']);
      }
      return s;
    };

    await get('provider');
    await get('visit');
    const value = fc.oneof({ weight: 3, arbitrary: anyJson }, { weight: 2, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 200 }) });
    const typed = fc.constantFrom(...KINDS).chain((k) =>
      fc.record({ frame: fc.record(Object.fromEntries(k.keys.map((key) => [key, value])), { requiredKeys: [] }).map((p) => JSON.stringify({ ...p, type: k.type })), kind: fc.constant(`${k.type} frame`) }),
    );
    const garbage = fc.oneof(
      anyString.map((s) => ({ frame: s, kind: 'text that is not a frame' })),
      anyJson.map((v) => ({ frame: JSON.stringify(v) ?? 'null', kind: 'any JSON' })),
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => ({ frame: Buffer.from(b), kind: 'binary' })),
      fc.constantFrom(Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff, 0xfe])).map((b) => ({ frame: b, kind: 'invalid UTF-8 text', text: true })),
      fc.integer({ min: 64 * 1024 + 1, max: 256 * 1024 }).map((n) => ({ frame: JSON.stringify({ type: 'messages.ack', ids: ['x'.repeat(n)] }), kind: 'oversized' })),
    );
    const frames = fc.array(fc.oneof({ weight: 3, arbitrary: typed }, { weight: 2, arbitrary: garbage }), { minLength: 1, maxLength: 3 });

    const started = performance.now();
    let sent = 0;
    const closes = new Map<number, number>();
    const answers = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<'provider' | 'patient' | 'visit'>('provider', 'patient', 'visit'), frames, async (who, batch) => {
        const s = await get(who);
        const seen = s.frames.length;
        for (const f of batch) {
          sent++;
          if (typeof f.frame === 'string') s.ws.send(f.frame);
          else s.ws.send(f.frame, { binary: !('text' in f) });
        }
        const outcome = await s.settle();
        for (const f of s.frames.slice(seen)) {
          const code = f.type === 'error' ? String(f['code']) : f.type === 'video.result' ? (f['ok'] === true ? 'ok' : String((f['error'] as { code?: unknown } | undefined)?.code)) : f.type;
          answers.set(code, (answers.get(code) ?? 0) + 1);
          const problem = frameProblem(f);
          if (problem !== undefined) throw new Error(`${who}, ${batch.map((b) => b.kind).join(' + ')}: ${problem}`);
        }
        if (outcome === 'closed') {
          const code = s.closeCode ?? -1;
          closes.set(code, (closes.get(code) ?? 0) + 1);
          if (!DOCUMENTED_CLOSES.has(code)) throw new Error(`${who}, ${batch.map((b) => b.kind).join(' + ')}: closed with undocumented code ${code}`);
          // A new socket for the same session works.
          expect(await (await get(who)).settle()).toBe('pong');
        }
      }),
      { numRuns: RUNS, seed: FUZZ_SEED, timeout: ANSWER_MS * 3, interruptAfterTimeLimit: 40_000 },
    );
    console.info(`ws fuzz: ${RUNS} runs, ${sent} frames, ${KINDS.length} frame kinds, closes ${JSON.stringify(Object.fromEntries(closes))}, answers ${JSON.stringify(Object.fromEntries(answers))}, seed ${FUZZ_SEED}, ${Math.round(performance.now() - started)} ms`);
    for (const s of Object.values(sockets)) s?.ws.close();
    expect((await fetch(`${w.gateway.url}/healthz`)).status).toBe(200);
  }, 90_000);

  it('cuts off raw bytes that break the WebSocket framing, and the session can connect again', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4_096 }), async (bytes) => {
        const socket = await rawUpgrade(w.gateway.url, w.people.provider.token);
        const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        socket.on('error', () => undefined);
        socket.write(bytes);
        // Unmasked client frames, reserved opcodes and bad lengths are protocol errors: the server closes.
        // Bytes that happen to form a partial frame leave it waiting: the client gives up after a while.
        const closed = await Promise.race([ended.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
        if (!closed) socket.destroy();
        const s = await FuzzSocket.open(w.gateway.url, w.people.provider.token);
        expect(await s.settle()).toBe('pong');
        s.ws.close();
      }),
      { numRuns: Math.ceil(RUNS / 5), seed: FUZZ_SEED },
    );
    expect((await fetch(`${w.gateway.url}/healthz`)).status).toBe(200);
  }, 60_000);
});

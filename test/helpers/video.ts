/**
 * For video-visit tests: a real gateway with a real mediasoup worker pool, a provider and a
 * care-team patient, an appointment that is open now, visit links made through the API, and a
 * signaling client over the real WebSocket (bearer-authenticated) with request/response
 * correlation and event waits that fail with a clear message.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { WebSocket } from 'ws';
import type { Db } from '../../core/db/types.ts';
import { createLogger } from '../../core/log/logger.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import type { RouteModule } from '../../gateway/route-module.ts';
import { testConfig } from '../../gateway/testing/harness.ts';
import { createMediaService, type MediaService } from '../../media/index.ts';
import { openTestDb } from './databases.ts';
import { seedPeople, startTestGateway, type People, type TestGateway } from './messaging.ts';

export interface VideoWorld {
  readonly db: Db;
  readonly redis: Redis;
  readonly media: MediaService;
  readonly gateway: TestGateway;
  readonly people: People;
  readonly appointmentId: string;
  /** A fresh single-use visit link token for the appointment (made by the provider over HTTP). */
  newLinkToken(): Promise<string>;
  close(): Promise<void>;
}

export async function api(url: string, path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

export async function startVideoWorld(opts: { env?: Record<string, string>; extraRoutes?: readonly RouteModule[]; startsInMinutes?: number; webDistDir?: string } = {}): Promise<VideoWorld> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    const t = await openTestDb('pglite');
    cleanups.push(() => t.dispose());
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const config = testConfig({ MEDIA_WORKERS: '1', VIDEO_EMPTY_GRACE_SECONDS: '1', ...opts.env });
    const media = createMediaService(config, createLogger({ level: 'silent' }));
    cleanups.push(() => media.close());
    await media.start();
    const gateway = await startTestGateway({ db: t.db, redis, config, keyPrefix: `test-${randomUUID()}:`, media, ...(opts.extraRoutes === undefined ? {} : { extraRoutes: opts.extraRoutes }), ...(opts.webDistDir === undefined ? {} : { webDistDir: opts.webDistDir }) });
    cleanups.push(() => gateway.close());
    const people = await seedPeople(gateway.features.identity, t.db);
    const start = Date.now() + (opts.startsInMinutes ?? 0) * 60_000;
    const booked = await api(gateway.url, '/appointments', {
      token: people.provider.token,
      body: { patientId: people.patient.patientId, providerId: people.provider.id, startsAt: new Date(start - 60_000).toISOString(), endsAt: new Date(start + 30 * 60_000).toISOString() },
    });
    if (booked.status !== 201) throw new Error(`booking failed: ${booked.status} ${JSON.stringify(booked.body)}`);
    const appointmentId = String(booked.body['id']);
    return {
      db: t.db,
      redis,
      media,
      gateway,
      people,
      appointmentId,
      async newLinkToken() {
        const link = await api(gateway.url, `/appointments/${appointmentId}/visit-links`, { token: people.provider.token, method: 'POST' });
        if (link.status !== 201) throw new Error(`visit link failed: ${link.status} ${JSON.stringify(link.body)}`);
        return new URL(String(link.body['url'])).hash.slice(1);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Redeem a link in bearer mode: the patient's visit-scoped session token. */
export async function redeem(url: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return api(url, '/visit-links/redeem', { body: { token, mode: 'bearer' } });
}

type Frame = Record<string, unknown> & { type: string };

/** A signaling client: `request` resolves with `data` or rejects with an Error whose message starts with the code. */
export class VideoSocket {
  readonly frames: Frame[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (f: Frame) => void }>();
  readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const f = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8')) as Frame;
      this.frames.push(f);
      if (f.type === 'video.result' && typeof f['reqId'] === 'number') this.waiting.get(f['reqId'])?.resolve(f);
    });
  }

  static async open(url: string, token: string): Promise<VideoSocket> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` } });
    const s = new VideoSocket(ws);
    await s.until('ready', (f) => f.type === 'ready');
    return s;
  }

  /** The raw result frame (ok or not). */
  async call(type: string, payload: Record<string, unknown> = {}): Promise<Frame> {
    const reqId = this.nextId++;
    const result = new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${type}: no video.result within 10 s`)), 10_000);
      this.waiting.set(reqId, {
        resolve: (f) => {
          clearTimeout(timer);
          this.waiting.delete(reqId);
          resolve(f);
        },
      });
    });
    this.ws.send(JSON.stringify({ type, reqId, ...payload }));
    return result;
  }

  async request(type: string, payload: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const f = await this.call(type, payload);
    if (f['ok'] !== true) throw new Error(`${String((f['error'] as { code?: string } | undefined)?.code)}: ${type} refused`);
    return f['data'] as Record<string, unknown>;
  }

  async until(what: string, pred: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.ws.close();
  }
}

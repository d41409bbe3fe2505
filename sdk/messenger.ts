/**
 * The messaging client of one device: register, send text/receipts to a user (all of their
 * devices, plus a copy to this account's other devices), receive over the stream (decrypt,
 * de-duplicate by envelope id, persist, then ack), replenish prekeys when the server says so.
 * Events are typed; a listener that throws is reported and does not stop delivery.
 * close() ends everything whenever it is called — also a start() still connecting or retrying —
 * and after it the messenger emits nothing more; a closed messenger cannot be started again.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { InboundEnvelope } from '../core/protocol/messaging.ts';
import { DeviceCipher, type SafetyNumber } from './cipher.ts';
import { decodeContent, encodeContent, type AttachmentPointer, type Content, type ContentInput, type ReceiptKind, type TextContent } from './content.ts';
import { createDeviceKeys, DEFAULT_PREKEY_BATCH, replenishKeys, setDeviceId } from './device-keys.ts';
import { SdkError, SdkErrorCode } from './errors.ts';
import { deviceMismatchOf } from './http-client.ts';
import type { LocalStore } from './local-store.ts';
import type { IdentityChangeNotice } from './signal-stores.ts';
import type { MessageStream, MessagingTransport } from './transport.ts';
import type { AbortableStreamHandlers } from './ws-client.ts';

const MAX_SEND_ATTEMPTS = 4;

export interface Sender {
  readonly userId: string;
  readonly deviceId: number;
}

export interface MessengerEvents {
  message: { from: Sender; envelopeId: string; serverTs: string; message: TextContent };
  /** A copy of a message this account sent from another device. */
  sentCopy: { from: Sender; envelopeId: string; to: string; message: TextContent };
  receipt: { from: Sender; envelopeId: string; receipt: ReceiptKind; clientIds: readonly string[] };
  identityChanged: IdentityChangeNotice;
  /** An envelope that could not be decrypted or parsed; it was acked (dropped). */
  decryptError: { from: Sender; envelopeId: string; error: SdkError };
  drained: Record<string, never>;
  sessionEnded: { reason: string };
  deviceRemoved: Record<string, never>;
  connection: { state: 'connected' | 'subscribed' | 'disconnected' };
  error: { error: Error };
}
type Listener<K extends keyof MessengerEvents> = (event: MessengerEvents[K]) => void;

export interface MessengerOptions {
  readonly store: LocalStore;
  readonly transport: MessagingTransport;
  /** Send a delivery receipt for each text message received (default true). */
  readonly deliveryReceipts?: boolean;
}

export class Messenger {
  readonly #store: LocalStore;
  readonly #transport: MessagingTransport;
  readonly #cipher: DeviceCipher;
  readonly #deliveryReceipts: boolean;
  readonly #listeners = new Map<keyof MessengerEvents, Set<(e: never) => void>>();
  #stream: MessageStream | undefined;
  /** The connect in progress, shared by concurrent start() calls. */
  #starting: Promise<void> | undefined;
  /** Stops a connect in progress (the gateway transport honours it; see ws-client.ts). */
  readonly #stop = new AbortController();
  #closing: Promise<void> | undefined;
  #closed = false;

  constructor(opts: MessengerOptions) {
    this.#store = opts.store;
    this.#transport = opts.transport;
    this.#deliveryReceipts = opts.deliveryReceipts ?? true;
    this.#cipher = new DeviceCipher(opts.store, (n) => this.#emit('identityChanged', n));
  }

  on<K extends keyof MessengerEvents>(type: K, listener: Listener<K>): () => void {
    const set = this.#listeners.get(type) ?? new Set();
    this.#listeners.set(type, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  #emit<K extends keyof MessengerEvents>(type: K, event: MessengerEvents[K]): void {
    for (const l of this.#listeners.get(type) ?? []) {
      try {
        l(event as never);
      } catch (err) {
        if (type === 'error') process.emitWarning(err instanceof Error ? err : String(err));
        else this.#emit('error', { error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
  }

  get registered(): boolean {
    return this.#store.state.local?.deviceId != null;
  }

  get local(): Sender {
    return this.#cipher.local;
  }

  /** Generate keys and register this device with the gateway (once per local store). */
  async registerDevice(userId: string, label?: string): Promise<{ deviceId: number }> {
    const body = await createDeviceKeys(this.#store, userId, label === undefined ? {} : { label });
    const { deviceId } = await this.#transport.registerDevice(body);
    await setDeviceId(this.#store, deviceId);
    return { deviceId };
  }

  /** Top up one-time prekeys to a full batch each. */
  async replenish(): Promise<void> {
    const { deviceId } = this.local;
    const count = await this.#transport.preKeyCount(deviceId);
    const preKeys = Math.max(0, DEFAULT_PREKEY_BATCH - count.preKeys);
    const kyberPreKeys = Math.max(0, DEFAULT_PREKEY_BATCH - count.kyberPreKeys);
    if (preKeys === 0 && kyberPreKeys === 0) return;
    const body = await this.#cipher.exclusive(() => replenishKeys(this.#store, { preKeys, kyberPreKeys }));
    await this.#transport.uploadKeys(deviceId, body);
  }

  async sendText(to: string, text: string, attachments: readonly AttachmentPointer[] = []): Promise<{ clientId: string; envelopeIds: string[] }> {
    const message: TextContent = { v: 1, kind: 'text', clientId: randomUUID(), sentAt: Date.now(), text, attachments: [...attachments] };
    const envelopeIds = await this.#send(to, message);
    const me = this.local;
    if (to !== me.userId) await this.#send(me.userId, { v: 1, kind: 'sent', to, message });
    await this.#cipher.exclusive(async () => {
      this.#store.state.history.push({ envelopeId: envelopeIds[0] ?? '', direction: 'out', peerUserId: to, peerDevice: 0, clientId: message.clientId, sentAt: message.sentAt, text, serverTs: null });
      await this.#store.commit();
    });
    return { clientId: message.clientId, envelopeIds };
  }

  async sendReceipt(to: string, receipt: ReceiptKind, clientIds: readonly string[]): Promise<void> {
    await this.#send(to, { v: 1, kind: 'receipt', receipt, clientIds: [...clientIds], sentAt: Date.now() });
  }

  /**
   * Encrypt `content` once per device of `to` and PUT it. On 409 device_mismatch: drop sessions of
   * extra and stale devices, fetch bundles for missing and stale ones, retry (bounded).
   * Returns the envelope ids; none when `to` is this account and it has no other device.
   */
  async #send(to: string, content: ContentInput): Promise<string[]> {
    const plaintext = encodeContent(content);
    const me = this.local;
    const toSelf = to === me.userId;
    return this.#cipher.exclusive(async () => {
      if (toSelf) await this.#syncOwnDevices();
      else if (this.#cipher.sessionDevices(to).length === 0) await this.#fetchAndProcess(to);
      for (let attempt = 1; ; attempt++) {
        const devices = this.#cipher.sessionDevices(to).filter((d) => !(toSelf && d === me.deviceId));
        if (devices.length === 0) return [];
        const messages = [];
        for (const d of devices) messages.push(await this.#cipher.encrypt(to, d, plaintext));
        try {
          const result = await this.#transport.sendMessages(to, { senderDevice: me.deviceId, messages });
          return result.envelopes.map((e) => e.id);
        } catch (err) {
          const mismatch = deviceMismatchOf(err);
          if (mismatch === undefined || attempt >= MAX_SEND_ATTEMPTS) throw err;
          for (const d of [...mismatch.extraDevices, ...mismatch.staleDevices]) await this.#cipher.deleteSession(to, d);
          for (const d of [...mismatch.missingDevices, ...mismatch.staleDevices]) {
            if (toSelf && d === me.deviceId) continue;
            await this.#fetchAndProcess(to, d);
          }
        }
      }
    });
  }

  async #fetchAndProcess(userId: string, deviceId?: number): Promise<void> {
    const me = this.local;
    const { devices } = await this.#transport.fetchBundles(userId, deviceId);
    for (const b of devices) {
      if (userId === me.userId && b.deviceId === me.deviceId) continue;
      await this.#cipher.processBundle(userId, b);
    }
  }

  /** Own other devices from GET /v1/devices (consumes no prekeys), sessions for the new ones, none for the gone ones. */
  async #syncOwnDevices(): Promise<void> {
    const me = this.local;
    const current = new Set((await this.#transport.listDevices()).devices.map((d) => d.deviceId));
    for (const d of this.#cipher.sessionDevices(me.userId)) if (!current.has(d)) await this.#cipher.deleteSession(me.userId, d);
    const known = new Set(this.#cipher.sessionDevices(me.userId));
    for (const d of current) if (d !== me.deviceId && !known.has(d)) await this.#fetchAndProcess(me.userId, d);
  }

  /**
   * Connect and receive (backlog first, then live) until close() or the session ends. Resolves once
   * subscribed; rejects with SdkError `store_closed` when the messenger is (or gets) closed first.
   */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#stream) return Promise.resolve();
    this.#starting ??= this.#connect().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #connect(): Promise<void> {
    const { deviceId } = this.local;
    const report = (error: Error) => this.#emit('error', { error });
    // Once closed, nothing more comes out: an envelope is then left unacked for the next start.
    const live = () => !this.#closed;
    const handlers: AbortableStreamHandlers = {
      signal: this.#stop.signal,
      onEnvelope: (env) => (live() ? this.#receive(env) : Promise.resolve()),
      onDrained: () => live() && this.#emit('drained', {}),
      onKeysLow: () => {
        if (live()) this.replenish().catch((err: unknown) => report(err instanceof Error ? err : new Error(String(err))));
      },
      onSessionEnded: (reason) => live() && this.#emit('sessionEnded', { reason }),
      onDeviceRemoved: () => live() && this.#emit('deviceRemoved', {}),
      onConnection: (state) => live() && this.#emit('connection', { state }),
      onError: (error) => live() && report(error),
    };
    const stream = await this.#transport.subscribe(deviceId, handlers);
    if (this.#closed) {
      // A transport that ignores the abort signal finished connecting after close(): undo it.
      await stream.close();
      throw closedError();
    }
    this.#stream = stream;
  }

  async #receive(env: z.infer<typeof InboundEnvelope>): Promise<void> {
    const from: Sender = { userId: env.senderUserId, deviceId: env.senderDevice };
    const outcome = await this.#cipher.exclusive(async (): Promise<{ content: Content } | { error: SdkError } | null> => {
      const state = this.#store.state;
      if (state.processed[env.id] !== undefined) return null;
      let result: { content: Content } | { error: SdkError };
      try {
        result = { content: decodeContent(await this.#cipher.decrypt(from.userId, from.deviceId, env.type, env.content)) };
      } catch (err) {
        result = { error: err instanceof SdkError ? err : new SdkError(SdkErrorCode.decryptFailed, 'cannot decrypt the message', { cause: err }) };
      }
      state.processed[env.id] = Date.now();
      if ('content' in result && result.content.kind === 'text') {
        const m = result.content;
        state.history.push({ envelopeId: env.id, direction: 'in', peerUserId: from.userId, peerDevice: from.deviceId, clientId: m.clientId, sentAt: m.sentAt, text: m.text, serverTs: env.serverTs });
      }
      // Session advance, envelope id and message reach disk together, before the ack.
      await this.#store.commit();
      return result;
    });
    this.#stream?.ack([env.id]);
    if (outcome === null) return;
    if ('error' in outcome) return this.#emit('decryptError', { from, envelopeId: env.id, error: outcome.error });
    const c = outcome.content;
    if (c.kind === 'text') {
      this.#emit('message', { from, envelopeId: env.id, serverTs: env.serverTs, message: c });
      if (this.#deliveryReceipts && from.userId !== this.local.userId) {
        this.sendReceipt(from.userId, 'delivered', [c.clientId]).catch((err: unknown) => this.#emit('error', { error: err instanceof Error ? err : new Error(String(err)) }));
      }
    } else if (c.kind === 'receipt') this.#emit('receipt', { from, envelopeId: env.id, receipt: c.receipt, clientIds: c.clientIds });
    else if (from.userId === this.local.userId) this.#emit('sentCopy', { from, envelopeId: env.id, to: c.to, message: c.message });
    else this.#emit('decryptError', { from, envelopeId: env.id, error: new SdkError(SdkErrorCode.invalidContent, 'a sent-copy came from another account') });
  }

  safetyNumbers(peerUserId: string): SafetyNumber[] {
    return this.#cipher.safetyNumbers(peerUserId);
  }

  /** Fetch the peer's current keys (so a never-contacted peer has a number too), then compute. */
  async refreshSafetyNumbers(peerUserId: string): Promise<SafetyNumber[]> {
    if (this.#cipher.sessionDevices(peerUserId).length === 0) await this.#cipher.exclusive(() => this.#fetchAndProcess(peerUserId));
    return this.#cipher.safetyNumbers(peerUserId);
  }

  markVerified(peerUserId: string, deviceId: number, verified = true): Promise<void> {
    return this.#cipher.exclusive(() => this.#cipher.markVerified(peerUserId, deviceId, verified));
  }

  /**
   * Stops the stream, also one still connecting, and waits for the message in hand; the local
   * store stays open (its owner closes it). Idempotent: every call waits for the same end.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#stop.abort(closedError());
    // The pending start() rejects to its own caller; here it only has to be over.
    const starting = this.#starting;
    if (starting) await Promise.allSettled([starting]);
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream) await stream.close();
    await this.#cipher.exclusive(() => Promise.resolve());
  }
}

function closedError(): SdkError {
  return new SdkError(SdkErrorCode.storeClosed, 'the messenger is closed');
}

/**
 * The app core's session and trust handling with a real SDK Messenger on a real encrypted store,
 * over a scripted transport (what the gateway would answer): a send refused because a verified
 * peer's key changed raises the banner, and acknowledging it clears the verified mark; an ended
 * session signs the app out and forgets the token; a device the gateway no longer has leaves the
 * app with a problem to show instead of failing; oversized uploads are refused before any upload.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import { afterEach, describe, expect, it } from 'vitest';
import { toB64 } from '../bytes.ts';
import { SdkError } from '../errors.ts';
import { LocalStore } from '../local-store.ts';
import { Messenger } from '../messenger.ts';
import type { MessagingTransport, StreamHandlers } from '../transport.ts';
import type { AppEvent } from './api.ts';
import { MessengerCore } from './core.ts';
import { LocalApiError } from './errors.ts';

const ME = randomUUID();
const PEER = randomUUID();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const never = (what: string) => () => Promise.reject(new Error(`${what} was not expected in this test`));

/** A transport answering like the gateway would, with overridable parts; `handlers` is the live stream's. */
function scriptedTransport(overrides: Partial<MessagingTransport> = {}) {
  const stream: { handlers?: StreamHandlers } = {};
  const transport: MessagingTransport = {
    registerDevice: never('registerDevice'),
    uploadKeys: never('uploadKeys'),
    preKeyCount: () => Promise.resolve({ preKeys: 100, kyberPreKeys: 100 }),
    listDevices: () => Promise.resolve({ devices: [] }),
    fetchBundles: never('fetchBundles'),
    sendMessages: never('sendMessages'),
    subscribe(_deviceId, handlers) {
      stream.handlers = handlers;
      handlers.onConnection?.('subscribed');
      return Promise.resolve({ ack: () => undefined, close: () => Promise.resolve() });
    },
    ...overrides,
  };
  return { transport, stream };
}

async function world(transport: MessagingTransport) {
  const dir = await mkdtemp(path.join(tmpdir(), 'messenger-core-'));
  const store = await LocalStore.create(path.join(dir, 'state'), { rawKey: randomBytes(32) });
  cleanups.push(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  // A registered device, and the peer's device 1 known and marked verified.
  store.state.local = { userId: ME, deviceId: 1, registrationId: 42, identityKeyPair: toB64(IdentityKeyPair.generate().serialize()) };
  store.state.identities[`${PEER}.1`] = { key: toB64(IdentityKeyPair.generate().publicKey.serialize()), verified: true, firstSeen: Date.now() };
  let account: { gatewayUrl: string; token: string; userId: string } | undefined = { gatewayUrl: 'http://127.0.0.1:1', token: 'secret-token', userId: ME };
  const core = new MessengerCore({
    store,
    account: { load: () => account, save: () => Promise.resolve(), clear: () => Promise.resolve(void (account = undefined)) },
    gatewayUrl: undefined,
    connect: () => new Messenger({ store, transport }),
    deviceLabel: 'test',
    maxAttachmentBytes: 100,
  });
  cleanups.push(() => core.close());
  const events: AppEvent[] = [];
  core.on((e) => events.push(e));
  return { store, core, events, account: () => account };
}

async function rejection(p: Promise<unknown>): Promise<LocalApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof LocalApiError)) throw new Error(`expected a LocalApiError, got ${String(err)}`);
  return err;
}

describe('MessengerCore', () => {
  it('a send refused for a changed verified key shows the banner; acknowledging it clears the verified mark', async () => {
    const untrusted = new SdkError('untrusted_identity', 'cannot start a session from the key bundle: the peer’s identity key changed after it was verified');
    const { transport } = scriptedTransport({ fetchBundles: () => Promise.reject(untrusted) });
    const { store, core, events } = await world(transport);
    await core.start();
    expect(core.session('t')).toMatchObject({ signedIn: true, connection: 'connected', account: { userId: ME, deviceId: 1 } });

    const err = await rejection(core.send(PEER, 'hello', []));
    expect([err.status, err.code]).toEqual([409, 'identity_not_verified']);
    expect(err.message).toMatch(/acknowledge it, then try again/);
    expect(core.conversation(PEER).identityWarnings).toMatchObject([{ deviceId: 1, wasVerified: true }]);
    expect(events).toContainEqual({ type: 'conversation', peerUserId: PEER });

    await core.acknowledgeIdentity(PEER);
    expect(core.conversation(PEER).identityWarnings).toEqual([]);
    expect(store.state.identities[`${PEER}.1`]?.verified).toBe(false);
  });

  it('an ended session signs the app out, says why, and forgets the token', async () => {
    const { transport, stream } = scriptedTransport();
    const { core, events, account } = await world(transport);
    await core.start();
    stream.handlers?.onSessionEnded?.('revoked');
    await expect.poll(() => core.session('t').signedIn).toBe(false);
    expect(core.session('t')).toMatchObject({ endedReason: 'revoked', connection: 'offline', gateway: 'http://127.0.0.1:1' });
    expect(account()).toBeUndefined();
    expect(events).toContainEqual({ type: 'session' });
    const err = await rejection(core.send(PEER, 'hello', []));
    expect([err.status, err.code]).toEqual([401, 'signed_out']);
  });

  it('a stored session the gateway no longer accepts leaves the app signed out, not failed', async () => {
    const { transport } = scriptedTransport({ preKeyCount: () => Promise.reject(new SdkError('unauthorized', 'Your session has ended', { status: 401 })) });
    const { core, account } = await world(transport);
    await core.start();
    expect(core.session('t')).toMatchObject({ signedIn: false, endedReason: 'expired' });
    expect(account()).toBeUndefined();
  });

  it('a device the gateway no longer has is a problem to show, and blocks signing in on this store', async () => {
    const { transport } = scriptedTransport({ preKeyCount: () => Promise.reject(new SdkError('device_not_found', 'No such device', { status: 404 })) });
    const { core } = await world(transport);
    await core.start();
    expect(core.session('t')).toMatchObject({ signedIn: false, problem: expect.stringMatching(/new --state directory/) as string });
    const err = await rejection(core.signIn({ kind: 'patient', enrollmentCode: 'ABCD' }));
    expect(err.status).toBe(409);
  });

  it('asks the gateway for contacts only when signed in, and says so when it cannot be reached', async () => {
    const { transport, stream } = scriptedTransport();
    const { core } = await world(transport);
    await core.start();
    // The world's gateway (127.0.0.1:1) answers nothing.
    const unreachable = await rejection(core.contacts());
    expect([unreachable.status, unreachable.code]).toEqual([502, 'gateway_unreachable']);
    expect(unreachable.message).toMatch(/^Could not load your contacts: the gateway cannot be reached/);
    stream.handlers?.onSessionEnded?.('logout');
    await expect.poll(() => core.session('t').signedIn).toBe(false);
    const signedOut = await rejection(core.contacts());
    expect([signedOut.status, signedOut.code]).toEqual([401, 'signed_out']);
  });

  it('refuses an attachment over the limit before uploading anything', async () => {
    const { transport } = scriptedTransport();
    const { core } = await world(transport);
    await core.start();
    const err = await rejection(core.upload(new Uint8Array(101), 'scan.pdf', 'application/pdf'));
    expect([err.status, err.code, err.message]).toEqual([413, 'attachment_too_large', 'The file is 101 bytes; files may be at most 100 bytes. Send a smaller file (or split it).']);
    const gone = await rejection(core.send(PEER, '', [randomUUID()]));
    expect([gone.status, gone.code]).toEqual([404, 'not_found']);
  });
});

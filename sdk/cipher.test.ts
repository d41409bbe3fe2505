import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { utf8 } from './bytes.ts';
import { decodeContent, encodeContent } from './content.ts';
import { SdkError } from './errors.ts';
import { DeviceCipher } from './cipher.ts';
import { LocalStore } from './local-store.ts';
import { disposeDevice, makeDevice, type TestDevice } from './test-fixtures/devices.ts';

const made: TestDevice[] = [];
afterEach(async () => {
  for (const d of made.splice(0)) await disposeDevice(d);
});
async function device(userId = randomUUID(), deviceId = 1): Promise<TestDevice> {
  const d = await makeDevice(userId, deviceId);
  made.push(d);
  return d;
}
const text = (s: string) => Buffer.from(s).toString();

async function send(from: TestDevice, to: TestDevice, message: string) {
  const enc = await from.cipher.exclusive(() => from.cipher.encrypt(to.userId, to.deviceId, utf8(message)));
  const plain = await to.cipher.exclusive(() => to.cipher.decrypt(from.userId, from.deviceId, enc.type, enc.content));
  await to.store.commit();
  return { enc, plain: text(Buffer.from(plain).toString()) };
}

describe('DeviceCipher with real libsignal (PQXDH)', () => {
  it('establishes a session from a served bundle and exchanges messages both ways', async () => {
    const alice = await device();
    const bob = await device();
    await alice.cipher.processBundle(bob.userId, bob.nextBundle());
    const first = await send(alice, bob, 'hello bob');
    expect(first.enc.type).toBe(3);
    expect(first.enc.registrationId).toBe(bob.registration.registrationId);
    expect(first.plain).toBe('hello bob');
    // The one-time prekeys the bundle carried are consumed on Bob's side.
    expect(Object.keys(bob.store.state.preKeys)).toHaveLength(2);
    const reply = await send(bob, alice, 'hi alice');
    expect(reply.enc.type).toBe(2);
    expect(reply.plain).toBe('hi alice');
    const again = await send(alice, bob, 'second');
    expect(again.enc.type).toBe(2);
    expect(again.plain).toBe('second');
    expect(alice.cipher.sessionDevices(bob.userId)).toEqual([1]);
  });

  it('works with the last-resort Kyber key and without a one-time EC prekey', async () => {
    const alice = await device();
    const bob = await device();
    const bundle = { ...bob.nextBundle(), preKey: null, kyberPreKey: { ...bob.registration.lastResortKyberPreKey, lastResort: true } };
    await alice.cipher.processBundle(bob.userId, bundle);
    expect((await send(alice, bob, 'via last resort')).plain).toBe('via last resort');
  });

  it('refuses a replayed prekey message', async () => {
    const alice = await device();
    const bob = await device();
    await alice.cipher.processBundle(bob.userId, bob.nextBundle());
    const { enc } = await send(alice, bob, 'once');
    await expect(bob.cipher.decrypt(alice.userId, alice.deviceId, enc.type, enc.content)).rejects.toBeInstanceOf(SdkError);
  });

  it('a tampered ciphertext fails to decrypt and the session keeps working', async () => {
    const alice = await device();
    const bob = await device();
    await alice.cipher.processBundle(bob.userId, bob.nextBundle());
    await send(alice, bob, 'setup');
    await send(bob, alice, 'ack');
    const enc = await alice.cipher.encrypt(bob.userId, bob.deviceId, utf8('secret'));
    const bytes = Buffer.from(enc.content, 'base64');
    bytes[bytes.length - 12] = (bytes[bytes.length - 12] ?? 0) ^ 0x01;
    await expect(bob.cipher.decrypt(alice.userId, alice.deviceId, enc.type, bytes.toString('base64'))).rejects.toMatchObject({ code: 'decrypt_failed' });
    // The untampered original still decrypts, and later messages too.
    expect(text(Buffer.from(await bob.cipher.decrypt(alice.userId, alice.deviceId, enc.type, enc.content)).toString())).toBe('secret');
    expect((await send(alice, bob, 'after')).plain).toBe('after');
    expect((await send(bob, alice, 'back')).plain).toBe('back');
  });

  it('reopening the store from disk restores the session; a wrong passphrase fails clearly', async () => {
    const alice = await device();
    const bob = await device();
    await alice.cipher.processBundle(bob.userId, bob.nextBundle());
    await send(alice, bob, 'before restart');
    await send(bob, alice, 'reply');
    await bob.store.close();
    await expect(LocalStore.open(bob.dir, { passphrase: 'wrong passphrase' })).rejects.toMatchObject({ code: 'store_locked' });
    const reopened = await LocalStore.open(bob.dir, { passphrase: 'correct horse battery staple' });
    const bob2: TestDevice = { ...bob, store: reopened, cipher: new DeviceCipher(reopened, () => undefined) };
    made.splice(made.indexOf(bob), 1, bob2);
    expect((await send(alice, bob2, 'after restart')).plain).toBe('after restart');
    expect((await send(bob2, alice, 'still here')).enc.type).toBe(2);
  });

  it('detects an identity change of a peer device and still decrypts its message', async () => {
    const alice = await device();
    const bobId = randomUUID();
    const bob = await device(bobId, 2);
    await alice.cipher.processBundle(bob.userId, bob.nextBundle());
    await send(alice, bob, 'hi');
    await send(bob, alice, 'hi back');
    // Bob reinstalls: same account and device id, new identity key.
    const bobNew = await device(bobId, 2);
    await bobNew.cipher.processBundle(alice.userId, alice.nextBundle());
    const { plain } = await send(bobNew, alice, 'new phone');
    expect(plain).toBe('new phone');
    expect(alice.changes).toEqual([{ userId: bobId, deviceId: 2, wasVerified: false }]);
  });

  it('after marking a peer verified, a changed identity key blocks sending until re-verified', async () => {
    const alice = await device();
    const bobId = randomUUID();
    const bob = await device(bobId, 1);
    await alice.cipher.processBundle(bob.userId, bob.nextBundle());
    await alice.cipher.markVerified(bobId, 1);
    const bobNew = await device(bobId, 1);
    await expect(alice.cipher.processBundle(bobId, bobNew.nextBundle())).rejects.toMatchObject({ code: 'untrusted_identity' });
  });

  it('a refused new key of a verified device is reported once per change, also across a restart; accepting it reports nothing more', async () => {
    const alice = await device();
    const bobId = randomUUID();
    const bob = await device(bobId, 1);
    await alice.cipher.processBundle(bobId, bob.nextBundle());
    await alice.cipher.markVerified(bobId, 1);
    const bobNew = await device(bobId, 1);
    const changed = { userId: bobId, deviceId: 1, wasVerified: true };
    await expect(alice.cipher.processBundle(bobId, bobNew.nextBundle())).rejects.toMatchObject({ code: 'untrusted_identity' });
    expect(alice.changes).toEqual([changed]);
    await expect(alice.cipher.processBundle(bobId, bobNew.nextBundle())).rejects.toMatchObject({ code: 'untrusted_identity' });
    expect(alice.changes).toEqual([changed]);

    // After a restart the same change is still known as reported.
    await alice.store.close();
    const reopened = await LocalStore.open(alice.dir, { passphrase: 'correct horse battery staple' });
    const changes: unknown[] = [];
    const alice2: TestDevice = { ...alice, store: reopened, cipher: new DeviceCipher(reopened, (n) => changes.push(n)) };
    made.splice(made.indexOf(alice), 1, alice2);
    await expect(alice2.cipher.processBundle(bobId, bobNew.nextBundle())).rejects.toMatchObject({ code: 'untrusted_identity' });
    expect(changes).toEqual([]);
    // The refusal left the verified key in place.
    expect(alice2.cipher.safetyNumbers(bobId)).toMatchObject([{ deviceId: 1, verified: true }]);

    // Accepting the reported key: the session starts, and the change is not reported a second time.
    await alice2.cipher.markVerified(bobId, 1, false);
    await alice2.cipher.processBundle(bobId, bobNew.nextBundle());
    expect((await send(alice2, bobNew, 'with the new key')).plain).toBe('with the new key');
    expect(changes).toEqual([]);

    // A later, different key is a new change.
    await alice2.cipher.markVerified(bobId, 1);
    const bobNewer = await device(bobId, 1);
    await expect(alice2.cipher.processBundle(bobId, bobNewer.nextBundle())).rejects.toMatchObject({ code: 'untrusted_identity' });
    expect(changes).toEqual([changed]);
  });

  it('safety numbers match on both sides and differ for another peer', async () => {
    const alice = await device();
    const bob = await device();
    const carol = await device();
    await alice.cipher.processBundle(bob.userId, bob.nextBundle());
    await alice.cipher.processBundle(carol.userId, carol.nextBundle());
    await send(alice, bob, 'x');
    const [fromAlice] = alice.cipher.safetyNumbers(bob.userId);
    const [fromBob] = bob.cipher.safetyNumbers(alice.userId);
    expect(fromAlice?.digits).toMatch(/^\d{60}$/);
    expect(fromAlice?.digits).toBe(fromBob?.digits);
    expect(alice.cipher.safetyNumbers(carol.userId)[0]?.digits).not.toBe(fromAlice?.digits);
  });

  it('carries padded content end to end', async () => {
    const alice = await device();
    const bob = await device();
    await alice.cipher.processBundle(bob.userId, bob.nextBundle());
    const clientId = randomUUID();
    const enc = await alice.cipher.encrypt(bob.userId, 1, encodeContent({ v: 1, kind: 'text', clientId, sentAt: 1, text: 'see you at 3' }));
    const content = decodeContent(await bob.cipher.decrypt(alice.userId, 1, enc.type, enc.content));
    expect(content).toEqual({ v: 1, kind: 'text', clientId, sentAt: 1, text: 'see you at 3', attachments: [] });
  });
});

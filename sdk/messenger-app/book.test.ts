/**
 * The conversation book on a real encrypted store: what the page sees of conversations, receipts
 * that only move forward, read marks, identity-change warnings, attachments with safe names —
 * kept per peer (a peer cannot touch another conversation) and surviving a reopen of the store.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TextContent } from '../content.ts';
import { LocalStore } from '../local-store.ts';
import { ConversationBook } from './book.ts';
import { describeAttachment, encodeContentType, safeFileName } from './file-names.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ME = randomUUID();
const ALICE = randomUUID();
const BOB = randomUUID();

async function openStore(): Promise<{ store: LocalStore; reopen: () => Promise<LocalStore> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'messenger-book-'));
  const key = { rawKey: randomBytes(32) };
  const store = await LocalStore.create(path.join(dir, 'state'), key);
  store.state.local = { userId: ME, deviceId: 1, registrationId: 7, identityKeyPair: '' };
  const open: LocalStore[] = [store];
  cleanups.push(async () => {
    for (const s of open) await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    store,
    async reopen() {
      await store.close();
      const again = await LocalStore.open(path.join(dir, 'state'), key);
      open.push(again);
      return again;
    },
  };
}

/** What the SDK does with a message it received or sent: one history entry. */
function arrive(store: LocalStore, peer: string, direction: 'in' | 'out', text: string, attachments: TextContent['attachments'] = []): TextContent {
  const message: TextContent = { v: 1, kind: 'text', clientId: randomUUID(), sentAt: Date.now(), text, attachments };
  store.state.history.push({ envelopeId: randomUUID(), direction, peerUserId: peer, peerDevice: 1, clientId: message.clientId, sentAt: message.sentAt, text, serverTs: null });
  return message;
}

const pointer = (contentType: string) => ({ id: randomUUID(), key: randomBytes(64).toString('base64'), digest: randomBytes(32).toString('base64'), size: 12, contentType });

describe('ConversationBook', () => {
  it('lists conversations with unread counts, and read marks only what is unread from that peer', async () => {
    const { store } = await openStore();
    const book = new ConversationBook(store);
    await book.addContact(BOB, 'Dr B');
    const a1 = arrive(store, ALICE, 'in', 'one');
    const a2 = arrive(store, ALICE, 'in', 'two');
    arrive(store, ALICE, 'out', 'three');
    const list = book.conversations();
    expect(list.map((c) => [c.peerUserId, c.label, c.unread])).toEqual([
      [ALICE, null, 2],
      [BOB, 'Dr B', 0],
    ]);
    // Bob cannot mark Alice's messages; unknown ids are ignored.
    expect(book.unseen(BOB, [a1.clientId])).toEqual([]);
    expect(book.unseen(ALICE, [a1.clientId, randomUUID()])).toEqual([a1.clientId]);
    await book.markSeen(ALICE, [a1.clientId]);
    expect(book.conversation(ALICE).messages.map((m) => m.status)).toEqual(['read', 'unread', 'sent']);
    expect(book.unseen(ALICE, [a1.clientId, a2.clientId])).toEqual([a2.clientId]);
  });

  it('moves sent messages forward only (delivered → read), and only for the peer who sent the receipt', async () => {
    const { store } = await openStore();
    const book = new ConversationBook(store);
    const out = arrive(store, ALICE, 'out', 'hello');
    expect(await book.receipt(BOB, 'read', [out.clientId])).toBe(true);
    expect(book.conversation(ALICE).messages[0]?.status).toBe('sent');
    expect(await book.receipt(ALICE, 'delivered', [out.clientId])).toBe(true);
    expect(book.conversation(ALICE).messages[0]?.status).toBe('delivered');
    expect(await book.receipt(ALICE, 'read', [out.clientId])).toBe(true);
    expect(await book.receipt(ALICE, 'delivered', [out.clientId])).toBe(false);
    expect(book.conversation(ALICE).messages[0]?.status).toBe('read');
  });

  it('keeps identity-change warnings per peer until acknowledged, one per device', async () => {
    const { store } = await openStore();
    const book = new ConversationBook(store);
    arrive(store, ALICE, 'in', 'hi');
    await book.identityChanged({ userId: ALICE, deviceId: 2, wasVerified: false });
    await book.identityChanged({ userId: ALICE, deviceId: 2, wasVerified: true });
    await book.identityChanged({ userId: ALICE, deviceId: 3, wasVerified: false });
    expect(book.conversations().find((c) => c.peerUserId === ALICE)?.identityChanged).toBe(true);
    expect(book.conversation(ALICE).identityWarnings.map((w) => [w.deviceId, w.wasVerified])).toEqual([
      [2, true],
      [3, false],
    ]);
    expect(book.conversation(BOB).identityWarnings).toEqual([]);
    const acknowledged = await book.acknowledgeIdentity(ALICE);
    expect(acknowledged.map((w) => w.deviceId)).toEqual([2, 3]);
    expect(book.conversation(ALICE).identityWarnings).toEqual([]);
    expect(book.conversations().find((c) => c.peerUserId === ALICE)?.identityChanged).toBe(false);
  });

  it('keeps attachments with the message, names made safe, and a copy sent from another device once', async () => {
    const { store } = await openStore();
    const book = new ConversationBook(store);
    const m = arrive(store, ALICE, 'in', 'see file', [pointer(encodeContentType('application/pdf', '../../etc/"passwd".pdf'))]);
    await book.received(ALICE, m);
    const [file] = book.conversation(ALICE).messages[0]?.attachments ?? [];
    expect(file).toEqual({ index: 0, name: '_.._etc__passwd_.pdf', size: 12, contentType: 'application/pdf' });
    expect(book.attachment(ALICE, m.clientId, 0)?.contentType).toMatch(/^application\/pdf; name="/);
    // Another peer cannot reach it by guessing the client id.
    expect(book.attachment(BOB, m.clientId, 0)).toBeUndefined();

    const copy: TextContent = { v: 1, kind: 'text', clientId: randomUUID(), sentAt: Date.now(), text: 'from my phone', attachments: [pointer('text/plain; name="a.txt"')] };
    await book.sentElsewhere(2, randomUUID(), BOB, copy);
    await book.sentElsewhere(2, randomUUID(), BOB, copy);
    const bob = book.conversation(BOB).messages;
    expect(bob.map((x) => [x.direction, x.text, x.attachments.map((a) => a.name)])).toEqual([['out', 'from my phone', ['a.txt']]]);
  });

  it('survives closing and reopening the encrypted store', async () => {
    const { store, reopen } = await openStore();
    const book = new ConversationBook(store);
    await book.addContact(ALICE, 'Clinic');
    const out = arrive(store, ALICE, 'out', 'kept');
    await book.receipt(ALICE, 'read', [out.clientId]);
    await book.identityChanged({ userId: ALICE, deviceId: 1, wasVerified: true });
    const again = new ConversationBook(await reopen());
    const view = again.conversation(ALICE);
    expect(view.label).toBe('Clinic');
    expect(view.messages.map((m) => [m.text, m.status])).toEqual([['kept', 'read']]);
    expect(view.identityWarnings).toHaveLength(1);
  });

  it('refuses a messenger section it does not understand instead of silently dropping it', async () => {
    const { store } = await openStore();
    store.state.app['messenger'] = { version: 99 };
    expect(() => new ConversationBook(store)).toThrow(/unknown layout/);
  });
});

describe('attachment file names', () => {
  it('are printable, without paths or quotes, bounded, and never empty', () => {
    expect(safeFileName('report.pdf')).toBe('report.pdf');
    expect(safeFileName('a/b\\c"d\u0000e\u202ef.txt')).toBe('a_b_c_d_e_f.txt');
    expect(safeFileName('...hidden')).toBe('hidden');
    expect(safeFileName('')).toBe('attachment');
    expect(safeFileName('x'.repeat(500))).toHaveLength(100);
    const ct = encodeContentType('text/plain', '名前'.repeat(100));
    expect(ct.length).toBeLessThanOrEqual(128);
    expect(describeAttachment(pointer(ct)).name.startsWith('名前')).toBe(true);
    expect(encodeContentType('text/html<script>', 'x')).toBe('application/octet-stream; name="x"');
  });
});

/**
 * The messenger app's view of its conversations, kept in the encrypted local store next to the
 * SDK's own state: message texts are the SDK's history (`state.history`); this book adds what the
 * app needs on top under `state.app.messenger` — the conversations the user started, attachment
 * pointers and file names, delivery/read receipts of sent messages, which received messages the
 * user has seen, and unacknowledged identity-key changes. Everything is keyed by
 * `<peer>/<clientId>`, so a peer can only ever touch its own conversation.
 */
import { z } from 'zod';
import { UserId } from '../../core/protocol/messaging.ts';
import { AttachmentPointer, type TextContent } from '../content.ts';
import { SdkError, SdkErrorCode } from '../errors.ts';
import { STORE_LIMITS, type HistoryEntry, type LocalStore } from '../local-store.ts';
import type { IdentityChangeNotice } from '../signal-stores.ts';
import type { AttachmentView, ConversationSummary, ConversationView, IdentityWarningView, MessageStatus, MessageView } from './api.ts';
import { describeAttachment } from './file-names.ts';

const APP_KEY = 'messenger';
/** Receipts may arrive before the send that they acknowledge has been recorded; keep them this long. */
const ORPHAN_KEEP_MS = 60 * 60_000;
const MAX_WARNINGS_PER_PEER = 20;

const Warning = z.strictObject({ deviceId: z.number().int(), wasVerified: z.boolean(), at: z.number() });
const BookState = z.strictObject({
  version: z.literal(1),
  contacts: z.record(UserId, z.strictObject({ label: z.string().max(80).nullable(), addedAt: z.number() })),
  attachments: z.record(z.string(), z.strictObject({ at: z.number(), list: z.array(AttachmentPointer).max(16) })),
  receipts: z.record(z.string(), z.strictObject({ status: z.enum(['delivered', 'read']), at: z.number() })),
  seen: z.record(z.string(), z.number()),
  warnings: z.record(UserId, z.array(Warning).max(MAX_WARNINGS_PER_PEER)),
});
type BookState = z.infer<typeof BookState>;

const key = (peer: string, clientId: string): string => `${peer}/${clientId}`;

export class ConversationBook {
  readonly #store: LocalStore;

  constructor(store: LocalStore) {
    this.#store = store;
    const raw = store.state.app[APP_KEY];
    if (raw === undefined) return;
    const parsed = BookState.safeParse(raw);
    if (!parsed.success) throw new SdkError(SdkErrorCode.storeCorrupt, 'the messenger part of the local store has an unknown layout', { cause: parsed.error });
  }

  get #state(): BookState {
    const app = this.#store.state.app;
    const existing = app[APP_KEY] as BookState | undefined;
    if (existing !== undefined) return existing;
    const fresh: BookState = { version: 1, contacts: {}, attachments: {}, receipts: {}, seen: {}, warnings: {} };
    app[APP_KEY] = fresh;
    return fresh;
  }

  #me(): string | undefined {
    return this.#store.state.local?.userId;
  }

  async #commit(): Promise<void> {
    this.#prune();
    await this.#store.commit();
  }

  /** Drop what refers to messages the SDK's bounded history no longer holds. */
  #prune(): void {
    const s = this.#state;
    const sizes = Object.keys(s.attachments).length + Object.keys(s.receipts).length + Object.keys(s.seen).length;
    if (sizes <= STORE_LIMITS.history * 3) return;
    const live = new Set(this.#store.state.history.map((h) => key(h.peerUserId, h.clientId)));
    const old = Date.now() - ORPHAN_KEEP_MS;
    for (const k of Object.keys(s.attachments)) if (!live.has(k) && (s.attachments[k]?.at ?? 0) < old) delete s.attachments[k];
    for (const k of Object.keys(s.receipts)) if (!live.has(k) && (s.receipts[k]?.at ?? 0) < old) delete s.receipts[k];
    for (const k of Object.keys(s.seen)) if (!live.has(k)) delete s.seen[k];
  }

  async addContact(peer: string, label: string | null): Promise<void> {
    const s = this.#state;
    const prior = s.contacts[peer];
    s.contacts[peer] = { label: label ?? prior?.label ?? null, addedAt: prior?.addedAt ?? Date.now() };
    await this.#commit();
  }

  /** A message arrived (the SDK already put its text in the history). */
  async received(peer: string, message: TextContent): Promise<void> {
    if (message.attachments.length === 0) return;
    this.#state.attachments[key(peer, message.clientId)] = { at: Date.now(), list: message.attachments };
    await this.#commit();
  }

  /** This app sent a message (the SDK already put its text in the history). */
  async sent(peer: string, clientId: string, attachments: readonly z.infer<typeof AttachmentPointer>[]): Promise<void> {
    if (attachments.length === 0) return;
    this.#state.attachments[key(peer, clientId)] = { at: Date.now(), list: [...attachments] };
    await this.#commit();
  }

  /** A copy of what this account sent from another of its devices: into the history like our own sends. */
  async sentElsewhere(fromDevice: number, envelopeId: string, to: string, message: TextContent): Promise<void> {
    const history = this.#store.state.history;
    if (history.some((h) => h.peerUserId === to && h.clientId === message.clientId)) return;
    history.push({ envelopeId, direction: 'out', peerUserId: to, peerDevice: fromDevice, clientId: message.clientId, sentAt: message.sentAt, text: message.text, serverTs: null });
    if (message.attachments.length > 0) this.#state.attachments[key(to, message.clientId)] = { at: Date.now(), list: message.attachments };
    await this.#commit();
  }

  /** Receipts only ever move a message forward (delivered → read). Returns whether anything changed. */
  async receipt(peer: string, kind: 'delivered' | 'read', clientIds: readonly string[]): Promise<boolean> {
    const receipts = this.#state.receipts;
    let changed = false;
    for (const id of clientIds) {
      const k = key(peer, id);
      if (receipts[k]?.status === 'read' || receipts[k]?.status === kind) continue;
      receipts[k] = { status: kind, at: Date.now() };
      changed = true;
    }
    if (changed) await this.#commit();
    return changed;
  }

  /** Of `clientIds`, the received messages from `peer` not yet seen. */
  unseen(peer: string, clientIds: readonly string[]): string[] {
    const seen = this.#state.seen;
    const wanted = new Set(clientIds);
    return this.#history(peer)
      .filter((h) => h.direction === 'in' && wanted.has(h.clientId) && seen[key(peer, h.clientId)] === undefined)
      .map((h) => h.clientId);
  }

  async markSeen(peer: string, clientIds: readonly string[]): Promise<void> {
    if (clientIds.length === 0) return;
    const now = Date.now();
    for (const id of clientIds) this.#state.seen[key(peer, id)] = now;
    await this.#commit();
  }

  async identityChanged(notice: IdentityChangeNotice): Promise<void> {
    const s = this.#state;
    const list = (s.warnings[notice.userId] ?? []).filter((w) => w.deviceId !== notice.deviceId);
    list.push({ deviceId: notice.deviceId, wasVerified: notice.wasVerified, at: Date.now() });
    s.warnings[notice.userId] = list.slice(-MAX_WARNINGS_PER_PEER);
    await this.#commit();
  }

  /**
   * Clears the peer's warnings and returns them (the caller un-verifies the devices that were
   * verified). The conversation stays listed even when the warning was all it had.
   */
  async acknowledgeIdentity(peer: string): Promise<IdentityWarningView[]> {
    const s = this.#state;
    const list = s.warnings[peer] ?? [];
    delete s.warnings[peer];
    s.contacts[peer] ??= { label: null, addedAt: Date.now() };
    await this.#commit();
    return list;
  }

  attachment(peer: string, clientId: string, index: number): z.infer<typeof AttachmentPointer> | undefined {
    return this.#state.attachments[key(peer, clientId)]?.list[index];
  }

  #history(peer: string): HistoryEntry[] {
    return this.#store.state.history.filter((h) => h.peerUserId === peer);
  }

  #status(peer: string, h: HistoryEntry): MessageStatus {
    const k = key(peer, h.clientId);
    if (h.direction === 'in') return this.#state.seen[k] === undefined ? 'unread' : 'read';
    return this.#state.receipts[k]?.status ?? 'sent';
  }

  #attachments(peer: string, clientId: string): AttachmentView[] {
    return (this.#state.attachments[key(peer, clientId)]?.list ?? []).map((p, index) => ({ index, ...describeAttachment(p) }));
  }

  conversations(): ConversationSummary[] {
    const s = this.#state;
    const me = this.#me();
    const byPeer = new Map<string, ConversationSummary>();
    const summary = (peer: string): ConversationSummary => byPeer.get(peer) ?? { peerUserId: peer, label: s.contacts[peer]?.label ?? null, lastAt: null, unread: 0, identityChanged: (s.warnings[peer]?.length ?? 0) > 0 };
    for (const peer of Object.keys(s.contacts)) byPeer.set(peer, summary(peer));
    for (const peer of Object.keys(s.warnings)) byPeer.set(peer, summary(peer));
    for (const h of this.#store.state.history) {
      if (h.peerUserId === me) continue;
      const c = summary(h.peerUserId);
      const unread = c.unread + (h.direction === 'in' && s.seen[key(h.peerUserId, h.clientId)] === undefined ? 1 : 0);
      byPeer.set(h.peerUserId, { ...c, lastAt: Math.max(c.lastAt ?? 0, h.sentAt), unread });
    }
    const addedAt = (p: string) => s.contacts[p]?.addedAt ?? 0;
    return [...byPeer.values()].sort((a, b) => (b.lastAt ?? addedAt(b.peerUserId)) - (a.lastAt ?? addedAt(a.peerUserId)));
  }

  conversation(peer: string): ConversationView {
    const s = this.#state;
    const messages: MessageView[] = this.#history(peer).map((h) => ({
      clientId: h.clientId,
      direction: h.direction,
      text: h.text,
      sentAt: h.sentAt,
      status: this.#status(peer, h),
      attachments: this.#attachments(peer, h.clientId),
    }));
    return { peerUserId: peer, label: s.contacts[peer]?.label ?? null, messages, identityWarnings: s.warnings[peer] ?? [] };
  }

  has(peer: string): boolean {
    const s = this.#state;
    return s.contacts[peer] !== undefined || s.warnings[peer] !== undefined || this.#store.state.history.some((h) => h.peerUserId === peer);
  }
}

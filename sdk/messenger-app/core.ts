/**
 * What the messenger app does, behind its local HTTP API: keeps one signed-in device (the SDK's
 * Messenger on the encrypted local store) connected to the gateway, records what arrives in the
 * ConversationBook, and carries out what the page asks — send (with encrypted attachments),
 * mark read (read receipts), safety numbers, verification, acknowledging identity changes, sign
 * in/out. Changes are announced as AppEvents for the page's live stream. Nothing here logs or
 * returns anything to the gateway but ciphertext.
 */
import { downloadAttachment, uploadAttachment } from '../attachments.ts';
import { redeemEnrollmentCode, signInStaff, signOut, type SignedIn } from '../auth-client.ts';
import { listContacts } from '../contacts-client.ts';
import type { AttachmentPointer } from '../content.ts';
import { MAX_TEXT_CHARS } from '../content.ts';
import { SdkError, SdkErrorCode } from '../errors.ts';
import type { LocalStore } from '../local-store.ts';
import type { Messenger } from '../messenger.ts';
import { MessagingErrorCode } from '../../core/protocol/messaging.ts';
import type { AppEvent, ConnectionState, ContactsView, ConversationSummary, ConversationView, SafetyNumberView, SessionView, SignInBody, UploadView } from './api.ts';
import { ConversationBook } from './book.ts';
import { LocalApiError, LocalErrorCode, sessionGone, translate } from './errors.ts';
import { describeAttachment, encodeContentType, safeFileName } from './file-names.ts';
import { PendingUploads, tooLarge } from './pending-uploads.ts';

/** Where the app's gateway session lives (the composition root keeps it in the local store). */
export interface AccountSlot {
  load(): { readonly gatewayUrl: string; readonly token: string; readonly userId: string } | undefined;
  save(gatewayUrl: string, who: SignedIn): Promise<void>;
  /** Forget the token (the session ended), keeping nothing that could sign in again. */
  clear(): Promise<void>;
}

export interface CoreOptions {
  readonly store: LocalStore;
  readonly account: AccountSlot;
  /** The gateway to sign in to from the page when the store has no account yet. */
  readonly gatewayUrl: string | undefined;
  /** Makes the SDK messenger for a session (production: connectMessenger). */
  readonly connect: (opts: { baseUrl: string; token: string }) => Messenger;
  readonly deviceLabel: string;
  readonly maxAttachmentBytes: number;
  /** Unsent uploads are forgotten after this long (default 1 hour). */
  readonly uploadTtlMs?: number;
}

const RECEIPT_BATCH = 100;

export class MessengerCore {
  readonly #opts: CoreOptions;
  readonly #book: ConversationBook;
  readonly #listeners = new Set<(e: AppEvent) => void>();
  readonly #uploads: PendingUploads;
  #messenger: Messenger | undefined;
  #session: { baseUrl: string; token: string } | undefined;
  #gatewayUrl: string | undefined;
  #connection: ConnectionState = 'offline';
  #endedReason: string | null = null;
  #problem: string | null = null;
  #closed = false;

  constructor(opts: CoreOptions) {
    this.#opts = opts;
    this.#book = new ConversationBook(opts.store);
    this.#uploads = new PendingUploads(opts.uploadTtlMs);
    this.#gatewayUrl = opts.account.load()?.gatewayUrl ?? opts.gatewayUrl;
  }

  on(listener: (e: AppEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(e: AppEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        // A broken page stream must not stop the others or the messenger.
        process.emitWarning(err instanceof Error ? err : String(err));
      }
    }
  }

  /** Report a background failure without its details (they may name a peer): the kind is enough to act on. */
  #background(what: string, err: unknown): void {
    const code = err instanceof SdkError ? err.code : err instanceof Error ? err.name : 'error';
    process.emitWarning(`telehealth messenger: ${what} failed (${code})`);
  }

  /** Connect with the stored account, if any. A dead token leaves the app signed out, not failed. */
  async start(): Promise<void> {
    const account = this.#opts.account.load();
    if (account === undefined) return;
    try {
      await this.#connect(account.gatewayUrl, account.token);
    } catch (err) {
      if (err instanceof SdkError && err.code === MessagingErrorCode.deviceNotFound) return this.#removed();
      if (!sessionGone(err)) throw err;
      // The session-ended / device-removed events usually said so already; a 401 over HTTP did not.
      if (this.#endedReason === null && this.#problem === null) await this.#ended('expired');
    }
  }

  /** Register (first time) or check in (top up prekeys; proves the token and the gateway), then receive. */
  async #connect(baseUrl: string, token: string): Promise<void> {
    const userId = this.#opts.account.load()?.userId;
    const m = this.#opts.connect({ baseUrl, token });
    this.#wire(m);
    this.#messenger = m;
    this.#session = { baseUrl, token };
    this.#gatewayUrl = baseUrl;
    this.#endedReason = null;
    this.#setConnection('connecting');
    try {
      if (m.registered) await m.replenish();
      else {
        if (userId === undefined) throw new LocalApiError(500, LocalErrorCode.internal, 'no account to register the device for');
        await m.registerDevice(userId, this.#opts.deviceLabel);
      }
      await m.start();
    } catch (err) {
      if (this.#messenger === m) {
        this.#messenger = undefined;
        this.#session = undefined;
        this.#setConnection('offline');
      }
      await m.close();
      throw err;
    }
    this.#emit({ type: 'session' });
  }

  #wire(m: Messenger): void {
    const later = (what: string, p: Promise<unknown>) => p.catch((err: unknown) => this.#background(what, err));
    m.on('message', (e) => {
      void later(
        'recording a message',
        this.#book.received(e.from.userId, e.message).then(() => this.#changed(e.from.userId)),
      );
    });
    m.on('sentCopy', (e) => {
      void later(
        'recording a message sent from another device',
        this.#book.sentElsewhere(e.from.deviceId, e.envelopeId, e.to, e.message).then(() => this.#changed(e.to)),
      );
    });
    m.on('receipt', (e) => {
      void later(
        'recording a receipt',
        this.#book.receipt(e.from.userId, e.receipt, e.clientIds).then((changed) => changed && this.#changed(e.from.userId)),
      );
    });
    m.on('identityChanged', (n) => {
      void later(
        'recording an identity change',
        this.#book.identityChanged(n).then(() => this.#changed(n.userId)),
      );
    });
    m.on('decryptError', (e) => this.#background('decrypting a message', e.error));
    m.on('error', (e) => this.#background('messaging', e.error));
    // A replaced or stopped messenger may still report its socket closing: only the current one speaks.
    m.on('connection', (e) => this.#messenger === m && this.#setConnection(e.state === 'disconnected' ? 'connecting' : 'connected'));
    m.on('sessionEnded', (e) => this.#messenger === m && void later('ending the session', this.#ended(e.reason)));
    m.on('deviceRemoved', () => this.#messenger === m && void later('stopping after the device was removed', this.#removed()));
  }

  #changed(peer: string): void {
    this.#emit({ type: 'conversation', peerUserId: peer });
    this.#emit({ type: 'conversations' });
  }

  #setConnection(state: ConnectionState): void {
    if (this.#connection === state) return;
    this.#connection = state;
    this.#emit({ type: 'connection', state });
  }

  async #stopMessenger(): Promise<void> {
    const m = this.#messenger;
    this.#messenger = undefined;
    this.#session = undefined;
    this.#setConnection('offline');
    if (m) await m.close();
  }

  /** This device no longer exists on the gateway: nothing more can be done with this store. */
  async #removed(): Promise<void> {
    this.#problem = 'This device was removed from your account, so it receives nothing more. Stop the app and start it with a new --state directory to set it up again.';
    await this.#stopMessenger();
    this.#emit({ type: 'session' });
  }

  async #ended(reason: string): Promise<void> {
    this.#endedReason = reason;
    await this.#stopMessenger();
    await this.#opts.account.clear();
    this.#uploads.clear();
    this.#emit({ type: 'session' });
  }

  session(csrfToken: string): SessionView {
    const local = this.#opts.store.state.local;
    return {
      csrfToken,
      signedIn: this.#messenger !== undefined,
      account: local === null ? null : { userId: local.userId, deviceId: local.deviceId },
      gateway: this.#gatewayUrl === undefined ? null : new URL(this.#gatewayUrl).origin,
      endedReason: this.#endedReason,
      problem: this.#problem,
      connection: this.#connection,
      limits: { maxAttachmentBytes: this.#opts.maxAttachmentBytes, maxTextChars: MAX_TEXT_CHARS },
    };
  }

  async signIn(body: SignInBody): Promise<void> {
    if (this.#messenger !== undefined) throw new LocalApiError(409, LocalErrorCode.alreadySignedIn, 'Already signed in. Sign out first to use another account.');
    if (this.#problem !== null) throw new LocalApiError(409, LocalErrorCode.wrongAccount, this.#problem);
    const baseUrl = this.#gatewayUrl;
    if (baseUrl === undefined) throw new LocalApiError(409, LocalErrorCode.signedOut, 'No gateway is configured. Stop the app and start it again with --url <gateway>.');
    let who: SignedIn;
    try {
      who = body.kind === 'staff' ? await signInStaff({ baseUrl }, body.username, body.password, body.totp) : await redeemEnrollmentCode({ baseUrl }, body.enrollmentCode);
    } catch (err) {
      if (err instanceof SdkError && err.status !== undefined && err.status < 500 && err.status !== 429) {
        throw new LocalApiError(401, LocalErrorCode.signInRefused, `${err.message}. Check what you typed and try again.`, { cause: err });
      }
      throw translate(err, 'sign in');
    }
    const local = this.#opts.store.state.local;
    if (local !== null && local.userId !== who.userId) {
      await signOut({ baseUrl, token: who.token });
      throw new LocalApiError(409, LocalErrorCode.wrongAccount, 'This messenger’s local state belongs to another account. Sign in with that account, or start the app with another --state directory.');
    }
    await this.#opts.account.save(baseUrl, who);
    try {
      await this.#connect(baseUrl, who.token);
    } catch (err) {
      throw translate(err, 'connect to the gateway');
    }
  }

  async signOut(): Promise<void> {
    const s = this.#session;
    if (s !== undefined) {
      try {
        await signOut(s);
      } catch (err) {
        // Ended already (401) is what we wanted; anything else is the page's to report after we forget the token.
        if (!(err instanceof SdkError && err.status === 401)) this.#background('signing out at the gateway', err);
      }
    }
    await this.#ended('logout');
  }

  #signedIn(): { messenger: Messenger; session: { baseUrl: string; token: string } } {
    const messenger = this.#messenger;
    const session = this.#session;
    if (messenger === undefined || session === undefined) throw new LocalApiError(401, LocalErrorCode.signedOut, 'You are signed out. Sign in again.');
    return { messenger, session };
  }

  conversations(): ConversationSummary[] {
    return this.#book.conversations();
  }

  conversation(peer: string): ConversationView {
    if (!this.#book.has(peer)) throw new LocalApiError(404, LocalErrorCode.notFound, 'No conversation with this person yet. Start one with their user id.');
    return this.#book.conversation(peer);
  }

  /** Who this account may message, asked of the gateway each time (names are PHI: never written to the store). */
  async contacts(): Promise<ContactsView> {
    const { session } = this.#signedIn();
    try {
      return await listContacts(session);
    } catch (err) {
      if (err instanceof SdkError && err.status === 403) throw new LocalApiError(403, LocalErrorCode.notAllowed, 'This account may not use secure messaging, so it has no contacts. Ask the clinic if this is wrong.', { cause: err });
      throw translate(err, 'load your contacts');
    }
  }

  /** Start a conversation: fetching the peer's keys proves they exist, may be messaged, and have a device. */
  async addConversation(peer: string, label: string | null): Promise<ConversationSummary> {
    const { messenger } = this.#signedIn();
    if (peer === messenger.local.userId) throw new LocalApiError(400, LocalErrorCode.validation, 'That is your own user id. Enter the id of the person you want to message.');
    try {
      const numbers = await messenger.refreshSafetyNumbers(peer);
      if (numbers.length === 0) throw new LocalApiError(404, LocalErrorCode.peerUnknown, 'This person has not set up secure messaging on any device yet. Try again later.');
    } catch (err) {
      throw translate(err, 'start the conversation');
    }
    await this.#book.addContact(peer, label);
    this.#emit({ type: 'conversations' });
    const found = this.#book.conversations().find((c) => c.peerUserId === peer);
    if (found === undefined) throw new LocalApiError(500, LocalErrorCode.internal, 'the conversation was not recorded');
    return found;
  }

  /** Encrypt and upload a file now; it is sent with the next message that names its upload id. */
  async upload(bytes: Uint8Array, name: string, contentType: string | undefined): Promise<UploadView> {
    const { session } = this.#signedIn();
    if (bytes.byteLength > this.#opts.maxAttachmentBytes) throw tooLarge(bytes.byteLength, this.#opts.maxAttachmentBytes);
    this.#uploads.reserve();
    let pointer: AttachmentPointer;
    try {
      pointer = await uploadAttachment(session, bytes, { contentType: encodeContentType(contentType, name) });
    } catch (err) {
      throw translate(err, 'upload the file');
    }
    return { uploadId: this.#uploads.add(pointer), name: safeFileName(name), size: bytes.byteLength };
  }

  async send(peer: string, text: string, uploadIds: readonly string[]): Promise<{ clientId: string }> {
    const { messenger } = this.#signedIn();
    const pointers = this.#uploads.get(uploadIds);
    let sent: { clientId: string };
    try {
      sent = await messenger.sendText(peer, text, pointers);
    } catch (err) {
      if (err instanceof SdkError && err.code === SdkErrorCode.untrustedIdentity) await this.#sendBlocked(peer, messenger);
      throw translate(err, 'send the message');
    }
    this.#uploads.discard(uploadIds);
    await this.#book.sent(peer, sent.clientId, pointers);
    this.#changed(peer);
    return { clientId: sent.clientId };
  }

  /**
   * A verified device's key changed and the SDK refused to send (the new key came with a fresh
   * bundle, so no identity-change event was raised): show the banner for the verified devices, so
   * acknowledging it clears their mark and the next send uses the new key.
   */
  async #sendBlocked(peer: string, messenger: Messenger): Promise<void> {
    for (const n of messenger.safetyNumbers(peer)) {
      if (n.verified) await this.#book.identityChanged({ userId: peer, deviceId: n.deviceId, wasVerified: true });
    }
    this.#changed(peer);
  }

  /** The page showed these messages: remember that and tell the sender (read receipts). */
  async markRead(peer: string, clientIds: readonly string[]): Promise<{ marked: number }> {
    const { messenger } = this.#signedIn();
    const unseen = this.#book.unseen(peer, clientIds);
    for (let i = 0; i < unseen.length; i += RECEIPT_BATCH) {
      const batch = unseen.slice(i, i + RECEIPT_BATCH);
      try {
        await messenger.sendReceipt(peer, 'read', batch);
      } catch (err) {
        throw translate(err, 'send the read receipt');
      }
      await this.#book.markSeen(peer, batch);
    }
    if (unseen.length > 0) this.#changed(peer);
    return { marked: unseen.length };
  }

  async download(peer: string, clientId: string, index: number): Promise<{ bytes: Buffer; name: string }> {
    const { session } = this.#signedIn();
    const pointer = this.#book.attachment(peer, clientId, index);
    if (pointer === undefined) throw new LocalApiError(404, LocalErrorCode.notFound, 'No such attachment in this conversation.');
    try {
      return { bytes: await downloadAttachment(session, pointer), name: describeAttachment(pointer).name };
    } catch (err) {
      if (err instanceof SdkError && err.status === 404) throw new LocalApiError(404, LocalErrorCode.notFound, 'The gateway no longer has this attachment (attachments expire). Ask the sender to send it again.', { cause: err });
      throw translate(err, 'download the attachment');
    }
  }

  async safetyNumbers(peer: string): Promise<SafetyNumberView[]> {
    const { messenger } = this.#signedIn();
    try {
      const numbers = await messenger.refreshSafetyNumbers(peer);
      return numbers.map((n) => ({ deviceId: n.deviceId, groups: n.digits.match(/\d{5}/g) ?? [], scannable: Buffer.from(n.scannable).toString('base64'), verified: n.verified }));
    } catch (err) {
      throw translate(err, 'compute the safety number');
    }
  }

  async setVerified(peer: string, deviceId: number, verified: boolean): Promise<void> {
    const { messenger } = this.#signedIn();
    try {
      await messenger.markVerified(peer, deviceId, verified);
    } catch (err) {
      throw translate(err, 'change the verification');
    }
    this.#changed(peer);
  }

  /**
   * The user saw the identity-change banner. A device whose old key had been verified loses its
   * mark, so the new key is used (until then sending to it is refused); they should compare again.
   */
  async acknowledgeIdentity(peer: string): Promise<void> {
    const { messenger } = this.#signedIn();
    const warnings = await this.#book.acknowledgeIdentity(peer);
    for (const w of warnings) {
      if (!w.wasVerified) continue;
      try {
        await messenger.markVerified(peer, w.deviceId, false);
      } catch (err) {
        throw translate(err, 'accept the new safety number');
      }
    }
    this.#changed(peer);
  }

  /** Stops messaging; the store stays open (its owner closes it). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#stopMessenger();
  }
}

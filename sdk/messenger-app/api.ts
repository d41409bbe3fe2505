/**
 * The local API between the messenger page and the `telehealth messenger` app, as plain types:
 * the page imports them (`import type`) without pulling anything of Node into the browser
 * bundle; the server validates every request body against the zod schemas in requests.ts, which
 * are checked against these shapes. Nothing here ever reaches the gateway.
 */

/** Header carrying the per-page token on every /api request except GET /api/session. */
export const TOKEN_HEADER = 'x-messenger-token';

export type ConnectionState = 'offline' | 'connecting' | 'connected';

export interface SessionView {
  /** Echo it in TOKEN_HEADER. */
  readonly csrfToken: string;
  readonly signedIn: boolean;
  /** This device, when the store holds one. */
  readonly account: { readonly userId: string; readonly deviceId: number | null } | null;
  /** The gateway this app signs in to (null: not known yet; restart with --url). */
  readonly gateway: string | null;
  /** Why the last session ended (`expired`, `logout`, `revoked`, ...), until the next sign-in. */
  readonly endedReason: string | null;
  /** Something the user must act on outside the page (e.g. this device was removed). */
  readonly problem: string | null;
  readonly connection: ConnectionState;
  readonly limits: { readonly maxAttachmentBytes: number; readonly maxTextChars: number };
}

export type SignInBody =
  | { readonly kind: 'staff'; readonly username: string; readonly password: string; readonly totp: string }
  | { readonly kind: 'patient'; readonly enrollmentCode: string };

export interface ConversationSummary {
  readonly peerUserId: string;
  /** A name the user gave this conversation; local only. */
  readonly label: string | null;
  /** ms since epoch of the newest message, null when none yet. */
  readonly lastAt: number | null;
  readonly unread: number;
  /** The peer's safety number changed and the user has not acknowledged it yet. */
  readonly identityChanged: boolean;
}

/**
 * Someone the gateway says this account may message (GET /api/contacts, from the gateway's
 * GET /v1/contacts). Fetched when the page asks, held in no store: a patient's name is PHI.
 */
export interface ContactView {
  readonly userId: string;
  readonly kind: 'provider' | 'patient';
  readonly displayName: string;
  /** They have a messaging device: a conversation can start now. */
  readonly hasDevice: boolean;
}

export interface ContactsView {
  readonly contacts: readonly ContactView[];
  /** The gateway lists at most 500; the others can still be reached by user id. */
  readonly truncated: boolean;
}

export interface NewConversationBody {
  readonly peerUserId: string;
  readonly label?: string;
}

/** Outgoing: sent → delivered → read (receipts from the peer). Incoming: unread → read. */
export type MessageStatus = 'sent' | 'delivered' | 'read' | 'unread';

export interface AttachmentView {
  readonly index: number;
  readonly name: string;
  readonly size: number | null;
  readonly contentType: string;
}

export interface MessageView {
  readonly clientId: string;
  readonly direction: 'in' | 'out';
  readonly text: string;
  /** Sender's clock, ms since epoch. */
  readonly sentAt: number;
  readonly status: MessageStatus;
  readonly attachments: readonly AttachmentView[];
}

export interface IdentityWarningView {
  readonly deviceId: number;
  /** The old key had been verified: sending to that device is blocked until the change is acknowledged. */
  readonly wasVerified: boolean;
  readonly at: number;
}

export interface ConversationView {
  readonly peerUserId: string;
  readonly label: string | null;
  readonly messages: readonly MessageView[];
  readonly identityWarnings: readonly IdentityWarningView[];
}

export interface SendBody {
  readonly text: string;
  /** Ids from POST /api/uploads, sent with this message. */
  readonly uploads?: readonly string[];
}

export interface UploadView {
  readonly uploadId: string;
  readonly name: string;
  readonly size: number;
}

export interface ReadBody {
  readonly clientIds: readonly string[];
}

export interface SafetyNumberView {
  readonly deviceId: number;
  /** 60 digits, in 12 groups of 5 as Signal shows them. */
  readonly groups: readonly string[];
  /** The scannable fingerprint (libsignal), base64: the page draws it as a QR code. */
  readonly scannable: string;
  readonly verified: boolean;
}

export interface VerifyBody {
  readonly deviceId: number;
  readonly verified: boolean;
}

/** Server → page over GET /api/events (text/event-stream): what to fetch again. */
export type AppEvent =
  | { readonly type: 'conversations' }
  | { readonly type: 'conversation'; readonly peerUserId: string }
  | { readonly type: 'session' }
  | { readonly type: 'connection'; readonly state: ConnectionState };

/** Every error the local API answers. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly fields?: readonly { readonly path: string; readonly message: string }[] };
}

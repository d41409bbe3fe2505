/**
 * A local stand-in for Twilio's Messages API, for the real `twilio` library to talk to (the
 * one thing in a reminder's path that cannot run here). A real HTTP server on loopback that
 * answers what the library asks for — create (POST form → 201), fetch, list (newest first, with
 * `To`/`From` filters and paging) under `/2010-04-01/Accounts/{sid}/` — checks basic auth, and
 * answers errors in Twilio's JSON shape `{code, message, more_info, status}`.
 *
 * Failures are programmed per destination number (Twilio's own codes: 21211, 21610, 20429 …, a
 * 500, or a connection dropped after the request was read, with or without the message having
 * been created). Status callbacks are posted to the message's `StatusCallback`, signed with the
 * library's `getExpectedTwilioSignature` exactly as Twilio signs them.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';

export type FakeTwilioFailure =
  /** Twilio refuses: HTTP `status` (400, 429 …) with Twilio's error body. */
  | { readonly kind: 'error'; readonly status: number; readonly code: number; readonly retryAfter?: string }
  /** HTTP 500; `created` = the message was created anyway. */
  | { readonly kind: 'server-error'; readonly created: boolean }
  /** Read the whole request, then drop the connection without answering; `created` = the message exists. */
  | { readonly kind: 'drop'; readonly created: boolean };

export interface FakeMessage {
  readonly sid: string;
  readonly to: string;
  readonly from: string | null;
  readonly messagingServiceSid: string | null;
  /** Empty when created with `ContentRetention=discard` (as Twilio does not keep it). */
  readonly body: string;
  status: string;
  errorCode: number | null;
  readonly statusCallback: string | null;
  readonly dateCreated: Date;
}

/** Known Twilio errors, with their real messages' shape (no real recipient text needed). */
export const TwilioErrors = {
  invalidTo: { kind: 'error', status: 400, code: 21211 },
  unsubscribed: { kind: 'error', status: 400, code: 21610 },
  notMobile: { kind: 'error', status: 400, code: 21614 },
  regionNotEnabled: { kind: 'error', status: 400, code: 21408 },
  tooManyRequests: { kind: 'error', status: 429, code: 20429 },
} as const satisfies Record<string, FakeTwilioFailure>;

const API = '/2010-04-01';

function errorBody(status: number, code: number): string {
  return JSON.stringify({ code, message: `Fake Twilio error ${code}`, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

const sid = (prefix: string): string => prefix + randomBytes(16).toString('hex');

export class FakeTwilio {
  readonly accountSid = sid('AC');
  readonly authToken = randomBytes(16).toString('hex');
  /** Every message Twilio would have created, oldest first. */
  readonly messages: FakeMessage[] = [];
  /** Number of create requests received (accepted or not). */
  createRequests = 0;
  readonly #failures = new Map<string, FakeTwilioFailure>();
  readonly #server: Server;
  #url = '';
  #closed = false;

  private constructor() {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  static async start(): Promise<FakeTwilio> {
    const fake = new FakeTwilio();
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    const { port } = fake.#server.address() as AddressInfo;
    fake.#url = `http://127.0.0.1:${port}`;
    return fake;
  }

  /** The origin to give the client as its API base URL. */
  get url(): string {
    return this.#url;
  }

  /** Every later create to `to` fails this way (until `clearFailure`). */
  failFor(to: string, failure: FakeTwilioFailure): void {
    this.#failures.set(to, failure);
  }

  clearFailure(to: string): void {
    this.#failures.delete(to);
  }

  /** Adds a message as if sent by someone else (another delivery, another day). */
  addMessage(m: Partial<FakeMessage> & { to: string; body: string }): FakeMessage {
    const msg: FakeMessage = { sid: sid('SM'), from: null, messagingServiceSid: null, status: 'delivered', errorCode: null, statusCallback: null, dateCreated: new Date(), ...m };
    this.messages.push(msg);
    return msg;
  }

  /**
   * Posts a signed status callback for a message to its StatusCallback (or `url`), the way
   * Twilio does; returns the receiver's HTTP status.
   */
  async sendStatusCallback(messageSid: string, status: string, opts: { errorCode?: number; url?: string; authToken?: string } = {}): Promise<number> {
    const msg = this.messages.find((m) => m.sid === messageSid);
    if (msg === undefined) throw new Error(`no message ${messageSid}`);
    const url = opts.url ?? msg.statusCallback;
    if (url === null) throw new Error(`message ${messageSid} has no StatusCallback`);
    msg.status = status;
    msg.errorCode = opts.errorCode ?? null;
    const params = statusParams(this.accountSid, msg, status, opts.errorCode);
    const signature = twilio.getExpectedTwilioSignature(opts.authToken ?? this.authToken, url, params);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body: new URLSearchParams(params).toString() });
    await res.arrayBuffer();
    return res.status;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.#server.close((err) => (err === undefined ? resolve() : reject(err))));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', this.#url);
    const send = (status: number, json: string): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(json);
    };
    if (!this.#authorized(req)) return send(401, errorBody(401, 20003));
    const base = `${API}/Accounts/${this.accountSid}`;
    if (req.method === 'POST' && url.pathname === `${base}/Messages.json`) return this.#create(new URLSearchParams(body), res, send);
    if (req.method === 'GET' && url.pathname === `${base}/Messages.json`) return send(200, this.#list(url));
    const fetchMatch = url.pathname.match(/^\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Messages\/(SM[0-9a-f]{32})\.json$/);
    if (req.method === 'GET' && fetchMatch !== null && url.pathname.startsWith(base)) {
      const msg = this.messages.find((m) => m.sid === fetchMatch[1]);
      return msg === undefined ? send(404, errorBody(404, 20404)) : send(200, JSON.stringify(toJson(this.accountSid, msg)));
    }
    send(404, errorBody(404, 20404));
  }

  #create(form: URLSearchParams, res: ServerResponse, send: (status: number, json: string) => void): void {
    this.createRequests += 1;
    const to = form.get('To');
    const from = form.get('From');
    const service = form.get('MessagingServiceSid');
    if (to === null || to === '') return send(400, errorBody(400, 21604));
    if (from === null && service === null) return send(400, errorBody(400, 21603));
    const failure = this.#failures.get(to);
    if (failure?.kind === 'error') {
      if (failure.retryAfter !== undefined) res.setHeader('retry-after', failure.retryAfter);
      return send(failure.status, errorBody(failure.status, failure.code));
    }
    const created = failure === undefined || failure.created;
    const msg: FakeMessage | null = created
      ? {
          sid: sid('SM'),
          to,
          from,
          messagingServiceSid: service,
          body: form.get('ContentRetention') === 'discard' ? '' : (form.get('Body') ?? ''),
          status: service === null ? 'queued' : 'accepted',
          errorCode: null,
          statusCallback: form.get('StatusCallback'),
          dateCreated: new Date(),
        }
      : null;
    if (msg !== null) this.messages.push(msg);
    if (failure?.kind === 'drop') {
      res.socket?.destroy();
      return;
    }
    if (failure?.kind === 'server-error') return send(500, errorBody(500, 20500));
    if (msg !== null) send(201, JSON.stringify(toJson(this.accountSid, msg)));
  }

  #list(url: URL): string {
    const to = url.searchParams.get('To');
    const from = url.searchParams.get('From');
    const pageSize = Math.min(Number(url.searchParams.get('PageSize') ?? '50') || 50, 1000);
    const page = Number(url.searchParams.get('Page') ?? '0') || 0;
    const all = this.messages.filter((m) => (to === null || m.to === to) && (from === null || m.from === from)).reverse();
    const slice = all.slice(page * pageSize, (page + 1) * pageSize);
    const pageUri = (p: number): string => {
      const q = new URLSearchParams(url.searchParams);
      q.set('Page', String(p));
      q.set('PageSize', String(pageSize));
      q.set('PageToken', `PA${p}`);
      return `${url.pathname}?${q.toString()}`;
    };
    return JSON.stringify({
      messages: slice.map((m) => toJson(this.accountSid, m)),
      page,
      page_size: pageSize,
      start: page * pageSize,
      end: page * pageSize + slice.length - 1,
      uri: `${url.pathname}${url.search}`,
      first_page_uri: pageUri(0),
      next_page_uri: (page + 1) * pageSize < all.length ? pageUri(page + 1) : null,
      previous_page_uri: page > 0 ? pageUri(page - 1) : null,
    });
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const expected = Buffer.from(`Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`);
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function toJson(accountSid: string, m: FakeMessage): Record<string, unknown> {
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: m.dateCreated.toUTCString().replace('GMT', '+0000'),
    date_sent: null,
    date_updated: m.dateCreated.toUTCString().replace('GMT', '+0000'),
    direction: 'outbound-api',
    error_code: m.errorCode,
    error_message: null,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: '0',
    num_segments: '1',
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: { media: `${API}/Accounts/${accountSid}/Messages/${m.sid}/Media.json` },
    to: m.to,
    uri: `${API}/Accounts/${accountSid}/Messages/${m.sid}.json`,
  };
}

function statusParams(accountSid: string, m: FakeMessage, status: string, errorCode: number | undefined): Record<string, string> {
  return {
    AccountSid: accountSid,
    ApiVersion: '2010-04-01',
    From: m.from ?? '',
    ...(m.messagingServiceSid === null ? {} : { MessagingServiceSid: m.messagingServiceSid }),
    MessageSid: m.sid,
    MessageStatus: status,
    SmsSid: m.sid,
    SmsStatus: status,
    To: m.to,
    ...(errorCode === undefined ? {} : { ErrorCode: String(errorCode) }),
  };
}

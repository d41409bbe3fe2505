/**
 * A minimal local Twilio Messages API for the scale-out run: the workers' real `twilio` library
 * talks to it through TWILIO_API_URL. It checks basic auth, creates a message per POST (201, the
 * JSON shape the library reads), lists by `To` (what a worker asks when it reconciles an ambiguous
 * send) and counts every create per destination number and per sending number — the sending
 * number tells which process sent it, since each process is given its own.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const API = '/2010-04-01';
const MAX_BODY = 64 * 1024;

interface Message {
  readonly sid: string;
  readonly to: string;
  readonly from: string;
  readonly at: Date;
}

export interface LocalTwilio {
  readonly url: string;
  readonly accountSid: string;
  readonly authToken: string;
  /** Creates per destination number. */
  readonly perTo: ReadonlyMap<string, number>;
  /** Creates per sending number. */
  readonly perFrom: ReadonlyMap<string, number>;
  readonly created: () => number;
  /** performance.now() of the first and last create (NaN before any). */
  readonly span: () => { first: number; last: number };
  close(): Promise<void>;
}

const hex = (n: number): string => randomBytes(n).toString('hex');

function json(accountSid: string, m: Message): string {
  const date = m.at.toUTCString().replace('GMT', '+0000');
  return JSON.stringify({
    account_sid: accountSid,
    api_version: '2010-04-01',
    body: '',
    date_created: date,
    date_updated: date,
    date_sent: null,
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: m.from,
    messaging_service_sid: null,
    num_media: '0',
    num_segments: '1',
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: 'queued',
    subresource_uris: {},
    to: m.to,
    uri: `${API}/Accounts/${accountSid}/Messages/${m.sid}.json`,
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error('request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startLocalTwilio(): Promise<LocalTwilio> {
  const accountSid = `AC${hex(16)}`;
  const authToken = hex(16);
  const expectedAuth = Buffer.from(`Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`);
  const base = `${API}/Accounts/${accountSid}/Messages.json`;
  const messages: Message[] = [];
  const perTo = new Map<string, number>();
  const perFrom = new Map<string, number>();
  let first = Number.NaN;
  let last = Number.NaN;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const send = (status: number, text: string): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    };
    const error = (status: number, code: number): void => send(status, JSON.stringify({ code, message: `local Twilio error ${code}`, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expectedAuth.length || !timingSafeEqual(given, expectedAuth)) return error(401, 20003);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== base) return error(404, 20404);
    if (req.method === 'POST') {
      const form = new URLSearchParams(body);
      const to = form.get('To') ?? '';
      const from = form.get('From') ?? form.get('MessagingServiceSid') ?? '';
      if (to === '') return error(400, 21604);
      const m: Message = { sid: `SM${hex(16)}`, to, from, at: new Date() };
      messages.push(m);
      perTo.set(to, (perTo.get(to) ?? 0) + 1);
      perFrom.set(from, (perFrom.get(from) ?? 0) + 1);
      const now = performance.now();
      if (Number.isNaN(first)) first = now;
      last = now;
      return send(201, json(accountSid, m));
    }
    if (req.method === 'GET') {
      // One page, newest first, filtered by To: enough for a worker's reconciliation.
      const to = url.searchParams.get('To');
      const found = messages.filter((m) => to === null || m.to === to).reverse().slice(0, 1000);
      return send(200, `{"messages":[${found.map((m) => json(accountSid, m)).join(',')}],"page":0,"page_size":1000,"uri":"${base}","first_page_uri":"${base}","next_page_uri":null,"previous_page_uri":null}`);
    }
    return error(405, 20004);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    perTo,
    perFrom,
    created: () => messages.length,
    span: () => ({ first, last }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

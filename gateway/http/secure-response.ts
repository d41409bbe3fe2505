/**
 * The ServerResponse class the gateway's Node server is built with. It writes the security
 * headers, the request id the frame recorded and, while the server drains, `Connection: close`,
 * all as part of the one writeHead call. Headers the response set itself win (a page's CSP).
 *
 * Why not `res.setHeader()` per header from a middleware: once any header is set that way,
 * Node takes its slower "progressive" header path for the whole response (in the http bench,
 * ~2–3 µs more CPU per request than passing the same headers to writeHead). Every response
 * goes through writeHead — including ones the adapter itself produces (400 for a bad Host, its
 * bare 500) — so nothing leaves without the headers.
 *
 * The common case (the response sets none of the security headers itself, no progressive
 * headers, not draining) skips even that: the fixed headers are one block validated once at
 * start-up and placed after the status line, so Node neither re-validates nor re-concatenates
 * seven constant headers per response (~1 µs per request). The block goes in through
 * OutgoingMessage's `_storeHeader(firstLine, headers)`, the step every response's header takes;
 * if a Node version lacks it, every response takes the general path instead.
 */
import { ServerResponse, validateHeaderName, validateHeaderValue, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { REQUEST_ID_HEADER } from './request-id.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

const DEFAULTS: Readonly<Record<string, string>> = Object.fromEntries(SECURITY_HEADERS);
const FIXED_NAMES: ReadonlySet<string> = new Set(SECURITY_HEADERS.map(([name]) => name));

/** `name: value\r\n` for every fixed header, validated as Node would validate each one. */
const FIXED_BLOCK = SECURITY_HEADERS.map(([name, value]) => {
  validateHeaderName(name);
  validateHeaderValue(name, value);
  return `${name}: ${value}\r\n`;
}).join('');

type StoreHeader = (this: ServerResponse, firstLine: string, headers: unknown) => void;
const nodeStoreHeader = (ServerResponse.prototype as unknown as { _storeHeader?: unknown })._storeHeader;
const storeHeader: StoreHeader | undefined = typeof nodeStoreHeader === 'function' ? (nodeStoreHeader as StoreHeader) : undefined;

/** Whether the response's own headers replace any fixed one (then the general path merges them). */
function overridesFixed(own: OutgoingHttpHeaders | undefined): boolean {
  if (own === undefined) return false;
  for (const name in own) if (FIXED_NAMES.has(name) || FIXED_NAMES.has(name.toLowerCase())) return true;
  return false;
}

export class SecureResponse<Req extends IncomingMessage = IncomingMessage> extends ServerResponse<Req> {
  /** Set by the request frame; sent as X-Request-Id. */
  requestId: string | undefined = undefined;
  /** Header lines to place after the status line by the next `_storeHeader`. */
  #block: string | undefined = undefined;
  /** Whether a header was set with setHeader/appendHeader (Node's progressive API). */
  #progressive = false;

  /** Overridden by the server to answer `Connection: close` while it drains. */
  protected closeConnection(): boolean {
    return false;
  }

  override setHeader(name: string, value: number | string | readonly string[]): this {
    this.#progressive = true;
    return super.setHeader(name, value);
  }

  override appendHeader(name: string, value: string | readonly string[]): this {
    this.#progressive = true;
    return super.appendHeader(name, value);
  }

  override writeHead(statusCode: number, reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], maybeHeaders?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined;
    const own = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
    if (storeHeader !== undefined && !this.#progressive && !Array.isArray(own) && !this.closeConnection() && !overridesFixed(own)) {
      // The request id is a UUID or passed SAFE_REQUEST_ID: no characters a header may not carry.
      this.#block = this.requestId === undefined ? FIXED_BLOCK : `${FIXED_BLOCK}${REQUEST_ID_HEADER}: ${this.requestId}\r\n`;
      return reason === undefined ? super.writeHead(statusCode, own) : super.writeHead(statusCode, reason, own);
    }
    const extra: OutgoingHttpHeaders = { ...DEFAULTS };
    if (this.requestId !== undefined) extra[REQUEST_ID_HEADER] = this.requestId;
    let headers: OutgoingHttpHeaders | OutgoingHttpHeader[];
    if (Array.isArray(own)) {
      // Raw header arrays (the adapter never sends them): fall back to the progressive API.
      for (const [name, value] of Object.entries(extra)) if (value !== undefined && !this.hasHeader(name)) this.setHeader(name, value);
      if (this.closeConnection()) this.setHeader('connection', 'close');
      headers = own;
    } else {
      headers = own === undefined ? extra : Object.assign(extra, own);
      if (this.closeConnection()) headers['connection'] = 'close';
    }
    return reason === undefined ? super.writeHead(statusCode, headers) : super.writeHead(statusCode, reason, headers);
  }

  /** Node-internal: serialises the header. Places the fixed block writeHead chose, once. */
  _storeHeader(firstLine: string, headers: unknown): void {
    const block = this.#block;
    this.#block = undefined;
    (storeHeader as StoreHeader).call(this, block === undefined ? firstLine : firstLine + block, headers);
  }
}
/** A SecureResponse class bound to one server's draining state. */
export function secureResponseFor(draining: () => boolean): typeof SecureResponse {
  return class ServerBoundResponse<Req extends IncomingMessage = IncomingMessage> extends SecureResponse<Req> {
    protected override closeConnection(): boolean {
      return draining();
    }
  };
}

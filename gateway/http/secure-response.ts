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
 */
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { REQUEST_ID_HEADER } from './request-id.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

const DEFAULTS: Readonly<Record<string, string>> = Object.fromEntries(SECURITY_HEADERS);

export class SecureResponse<Req extends IncomingMessage = IncomingMessage> extends ServerResponse<Req> {
  /** Set by the request frame; sent as X-Request-Id. */
  requestId: string | undefined = undefined;

  /** Overridden by the server to answer `Connection: close` while it drains. */
  protected closeConnection(): boolean {
    return false;
  }

  override writeHead(statusCode: number, reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], maybeHeaders?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined;
    const own = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
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
}

/** A SecureResponse class bound to one server's draining state. */
export function secureResponseFor(draining: () => boolean): typeof SecureResponse {
  return class ServerBoundResponse<Req extends IncomingMessage = IncomingMessage> extends SecureResponse<Req> {
    protected override closeConnection(): boolean {
      return draining();
    }
  };
}

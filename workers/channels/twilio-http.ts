/**
 * The HTTP client handed to the twilio library (its documented `httpClient` option): the
 * library's own RequestClient, with two additions we need and the library does not offer.
 *
 * 1. A base URL. Every Twilio domain object builds absolute `https://<product>.twilio.com/…`
 *    URLs, and the library's `edge`/`region` options only rewrite the host *within* twilio.com,
 *    so the one supported seam for pointing the real library at another host (the local fake in
 *    tests, a egress proxy in production) is the HTTP client. Only the origin is replaced; path,
 *    query and body are exactly what the library built.
 * 2. Retry-After. The library turns a 429 into a RestException without the response headers, so
 *    the rate-limit answer is classified here, where the headers are still in hand.
 *
 * The agents are ours (not the library's module-level defaults) so `close()` can release them.
 */
import http from 'node:http';
import https from 'node:https';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as ResponseModule from 'twilio/lib/http/response.js';
import { parseRetryAfter, RetryableChannelError } from './errors.ts';

type Response<T> = ResponseModule.default<T>;

export interface TwilioHttpOptions {
  /** Replaces `https://*.twilio.com` in every request, e.g. `http://127.0.0.1:4010`. Undefined = Twilio itself. */
  readonly baseUrl?: string;
  readonly timeoutMs: number;
}

/** Twilio's rate-limit code, also carried in the JSON body of an HTTP 429. */
export const TWILIO_TOO_MANY_REQUESTS = 20429;

function bodyCode(body: unknown): number | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined; // not JSON: a proxy's HTML page; the HTTP status is all there is
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const code = (parsed as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export class TwilioHttpClient extends twilio.RequestClient {
  readonly #base: URL | undefined;
  readonly #httpAgent = new http.Agent({ keepAlive: true });
  readonly #httpsAgent: https.Agent;

  constructor(options: TwilioHttpOptions) {
    super({ timeout: options.timeoutMs, autoRetry: false });
    this.#base = options.baseUrl === undefined ? undefined : new URL(options.baseUrl);
    this.#httpsAgent = new https.Agent({ keepAlive: true, timeout: options.timeoutMs, maxSockets: 20 });
    this.axios.defaults.httpAgent = this.#httpAgent;
    this.axios.defaults.httpsAgent = this.#httpsAgent;
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<Response<TData>> {
    const res = await super.request({ ...opts, uri: this.#rewrite(opts.uri) });
    if (res.statusCode === 429) {
      const headers: unknown = res.headers;
      const header = typeof headers === 'object' && headers !== null ? (headers as Record<string, unknown>)['retry-after'] : undefined;
      const retryAfterMs = parseRetryAfter(typeof header === 'string' ? header : undefined);
      const code = bodyCode(res.body) ?? TWILIO_TOO_MANY_REQUESTS;
      throw new RetryableChannelError(String(code), `Twilio rate limit (HTTP 429, code ${code})`, retryAfterMs === undefined ? {} : { retryAfterMs });
    }
    return res;
  }

  #rewrite(uri: string): string {
    if (this.#base === undefined) return uri;
    const url = new URL(uri);
    if (url.hostname !== 'twilio.com' && !url.hostname.endsWith('.twilio.com')) return uri;
    url.protocol = this.#base.protocol;
    url.host = this.#base.host;
    return url.href;
  }

  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }
}

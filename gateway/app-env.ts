/**
 * The typed Hono context every gateway route and middleware shares: the per-request values the
 * request frame sets before anything else runs, and the Node bindings @hono/node-server passes
 * (absent under `app.request()` in unit tests, hence optional).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { Logger } from '../core/log/logger.ts';
import type { RequestAuth } from './auth/request-auth-types.ts';

export interface AppVariables {
  /** Inbound X-Request-Id when it is short and safe, otherwise a fresh UUID; echoed on every response. */
  readonly requestId: string;
  /** Child logger bound to the request id (created on first use). Log ids and route patterns, never bodies. */
  readonly log: Logger;
  /** Socket peer address, or the proxy-reported client address when TRUST_PROXY is on. */
  readonly clientIp: string;
  /** Present once the session middleware authenticated the request. */
  readonly auth?: RequestAuth;
}

export interface AppEnv {
  Bindings: { readonly incoming?: IncomingMessage; readonly outgoing?: ServerResponse };
  Variables: AppVariables;
}

export type AppContext = Context<AppEnv>;

/** The Node request behind this context, when served by @hono/node-server (not under app.request()). */
export function nodeIncoming(c: Context): IncomingMessage | undefined {
  const env = c.env as AppEnv['Bindings'] | undefined;
  return env?.incoming;
}

/** The Node response behind this context, when served by @hono/node-server. */
export function nodeOutgoing(c: Context): ServerResponse | undefined {
  const env = c.env as AppEnv['Bindings'] | undefined;
  return env?.outgoing;
}

/**
 * A request header by lower-case name. Served by Node, read from the already-parsed
 * `IncomingMessage.headers` rather than building a WHATWG Headers object (which validates every
 * header on construction and shows up in profiles).
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = nodeIncoming(c);
  if (incoming === undefined) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

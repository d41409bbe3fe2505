/**
 * Who may drive the local app. It listens on 127.0.0.1 only, but every web page the user has open
 * can send requests to 127.0.0.1, so:
 * - Host must be exactly 127.0.0.1:<port> — a DNS-rebinding page (evil.example resolving to
 *   127.0.0.1) sends its own name and is refused before anything else.
 * - The terminal prints a one-time launch link (`/?launch=<256-bit secret>`); opening it trades
 *   the secret for an HttpOnly, SameSite=Strict session cookie and redirects to a clean URL, so
 *   the secret is neither in the address bar nor in the history afterwards.
 * - Every request needs that cookie. Cookies are not isolated by port, so every /api call also
 *   needs the session's token in a header (readable only by a same-origin page, from GET
 *   /api/session), writes need Origin http://127.0.0.1:<port>, and Sec-Fetch-Site, when the
 *   browser sends it, must be same-origin.
 * Secrets and tokens are random 256-bit values, kept hashed, compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE_PREFIX = 'telehealth_messenger_';
/** Launch links not used within this long stop working. */
const LAUNCH_TTL_MS = 10 * 60_000;
const MAX_OPEN_LAUNCHES = 8;
const MAX_SESSIONS = 32;

const secret = (): string => randomBytes(32).toString('base64url');
const digest = (value: string): string => createHash('sha256').update(value, 'utf8').digest('base64url');

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(digest(a));
  const y = Buffer.from(digest(b));
  return timingSafeEqual(x, y);
}

export interface PageSession {
  /** Echoed by the page in the token header. */
  readonly csrfToken: string;
}

export class LaunchGuard {
  readonly #launches = new Map<string, number>();
  readonly #sessions = new Map<string, PageSession>();
  #port = 0;

  /** Set once the server listens (the port is random). */
  bind(port: number): void {
    this.#port = port;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Cookie names carry the port: two apps on one machine keep apart. */
  get cookieName(): string {
    return `${SESSION_COOKIE_PREFIX}${this.#port}`;
  }

  /** A fresh one-time launch link. Older unused ones stay valid until they expire (at most a few). */
  launchUrl(): string {
    const value = secret();
    const now = Date.now();
    for (const [k, at] of this.#launches) if (at + LAUNCH_TTL_MS < now) this.#launches.delete(k);
    while (this.#launches.size >= MAX_OPEN_LAUNCHES) {
      const oldest = this.#launches.keys().next();
      if (oldest.done === true) break;
      this.#launches.delete(oldest.value);
    }
    this.#launches.set(digest(value), now);
    return `${this.origin}/?launch=${value}`;
  }

  /** Trade a launch secret for a new session cookie value; undefined when unknown, used or expired. */
  exchange(launch: string): string | undefined {
    const k = digest(launch);
    const at = this.#launches.get(k);
    if (at === undefined) return undefined;
    this.#launches.delete(k);
    if (at + LAUNCH_TTL_MS < Date.now()) return undefined;
    const cookie = secret();
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next();
      if (oldest.done !== true) this.#sessions.delete(oldest.value);
    }
    this.#sessions.set(digest(cookie), { csrfToken: secret() });
    return cookie;
  }

  session(cookie: string | undefined): PageSession | undefined {
    if (cookie === undefined || cookie.length > 128) return undefined;
    return this.#sessions.get(digest(cookie));
  }

  /** Host must name this app exactly (the DNS-rebinding defence). */
  hostOk(hostHeader: string | undefined): boolean {
    return hostHeader === this.host;
  }

  /** Writes must come from the app's own page. */
  originOk(originHeader: string | undefined): boolean {
    return originHeader === this.origin;
  }
}

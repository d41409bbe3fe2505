/**
 * The page's live stream from the local app (GET /api/events, text/event-stream) read with fetch,
 * so it carries the token header that EventSource cannot send. Reconnects with backoff; after a
 * reconnect the page reloads everything, since events may have been missed meanwhile.
 */
import { TOKEN_HEADER, type AppEvent } from '../../sdk/messenger-app/api.ts';
import { currentToken } from './local-api.ts';

export type StreamState = 'live' | 'reconnecting' | 'refused';

const BACKOFF_MS = { first: 500, max: 10_000 } as const;

function parseEvent(chunk: string): AppEvent | { type: 'ready' } | undefined {
  const data = chunk
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => l.slice(6))
    .join('\n');
  if (data === '') return undefined;
  try {
    const parsed = JSON.parse(data) as { type?: unknown };
    return typeof parsed.type === 'string' ? (parsed as AppEvent) : { type: 'ready' };
  } catch {
    return undefined;
  }
}

/** Returns a function that stops the stream. `onEvent({type:'ready'})` after every (re)connect. */
export function openLiveEvents(onEvent: (e: AppEvent | { type: 'ready' }) => void, onState: (s: StreamState) => void): () => void {
  let stopped = false;
  let abort = new AbortController();
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  const run = async (): Promise<void> => {
    let delay: number = BACKOFF_MS.first;
    while (!stopped) {
      abort = new AbortController();
      try {
        const res = await fetch('/api/events', { headers: { [TOKEN_HEADER]: currentToken() }, signal: abort.signal, cache: 'no-store', credentials: 'same-origin' });
        if (res.status === 401 || res.status === 403) return onState('refused');
        if (!res.ok || res.body === null) throw new Error(`events answered ${res.status}`);
        onState('live');
        delay = BACKOFF_MS.first;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const e = parseEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (e !== undefined) onEvent(e);
          }
        }
      } catch {
        // Network error or the app stopped: fall through to reconnect (or stop quietly when asked).
      }
      if (stopped) return;
      onState('reconnecting');
      await sleep(delay);
      delay = Math.min(BACKOFF_MS.max, delay * 2);
    }
  };
  void run();
  return () => {
    stopped = true;
    abort.abort();
  };
}

/**
 * Counters the live events bump; views reload when theirs changes. (Counters, not "the last
 * event": several events can arrive in one render batch, and none may be lost.)
 */
export interface LiveVersions {
  /** Bumped on every (re)connect: events may have been missed, reload everything. */
  readonly all: number;
  readonly list: number;
  readonly peers: Readonly<Record<string, number>>;
}

export function bump(v: LiveVersions, e: AppEvent | { readonly type: 'ready' }): LiveVersions {
  switch (e.type) {
    case 'ready':
      return { ...v, all: v.all + 1 };
    case 'conversations':
      return { ...v, list: v.list + 1 };
    case 'conversation':
      return { ...v, peers: { ...v.peers, [e.peerUserId]: (v.peers[e.peerUserId] ?? 0) + 1 } };
    default:
      return v;
  }
}

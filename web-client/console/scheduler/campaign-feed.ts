/**
 * Live campaign progress for the console: the gateway's WebSocket (`/ws`, same origin, the session
 * cookie authenticates the upgrade) answers `campaign.watch` with `campaign.progress` frames until
 * the campaign is finished. When the socket drops, the feed says so (`reconnecting`), reconnects
 * with backoff and meanwhile polls GET /campaigns/{id}, so no change is missed; after a reconnect
 * the watches are sent again and the gateway answers each with the current counts at once.
 *
 * Polling is only the fallback, and it stops after a while (`pollBudgetMs`): every HTTP call counts
 * as activity, and a page polling forever would keep an unattended session from its automatic
 * logoff. Progress frames themselves are not activity. A socket closed because the session ended
 * (4401) stops the feed and lets the console end the session.
 */
import { isFinished } from './reasons.ts';
import type { Progress } from './types.ts';

export const FeedStatus = {
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  /** The socket is still down and the polling budget is spent: refresh by hand. */
  paused: 'paused',
  closed: 'closed',
} as const;
export type FeedStatus = (typeof FeedStatus)[keyof typeof FeedStatus];

export interface CampaignFeedDeps {
  /** GET /campaigns/{id} through the console's `call` (a 401 there ends the console). */
  readonly poll: (campaignId: string) => Promise<Progress>;
  /** The socket was closed because the session ended. */
  readonly onSessionEnded: () => void;
  /** After each poll: undefined when it worked, else the error (the view shows it until a poll works again). */
  readonly onPollOutcome?: (err: unknown) => void;
  readonly path?: string;
  readonly pollMs?: number;
  readonly pollBudgetMs?: number;
}

export interface CampaignFeed {
  /** Progress for one campaign, from the socket or (while it is down) by polling. */
  watch(campaignId: string, fn: (p: Progress) => void): () => void;
  onStatus(fn: (s: FeedStatus) => void): () => void;
  readonly status: FeedStatus;
  /** Fetch every watched campaign now and watch finished ones again (also restarts the polling budget while the socket is down). */
  refresh(): void;
  close(): void;
}

/** The gateway serves at most this many watches per socket. */
export const MAX_SOCKET_WATCHES = 5;
const SESSION_ENDED_CODE = 4401;
const PING_MS = 25_000;

export function openCampaignFeed(deps: CampaignFeedDeps): CampaignFeed {
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${deps.path ?? '/ws'}`;
  const pollMs = deps.pollMs ?? 2_000;
  const pollBudgetMs = deps.pollBudgetMs ?? 5 * 60_000;
  const listeners = new Map<string, Set<(p: Progress) => void>>();
  const statusListeners = new Set<(s: FeedStatus) => void>();
  /** Campaigns the open socket is watching for us. */
  const onSocket = new Set<string>();
  const finished = new Set<string>();
  let status: FeedStatus = FeedStatus.connecting;
  let ws: WebSocket | undefined;
  let failures = 0;
  let reconnectTimer: number | undefined;
  let pollTimer: number | undefined;
  let pingTimer: number | undefined;
  let pollingSince = 0;

  const setStatus = (s: FeedStatus): void => {
    if (status === s) return;
    status = s;
    for (const fn of statusListeners) safe(() => fn(s));
  };

  const dispatch = (p: Progress): void => {
    if (isFinished(p)) {
      finished.add(p.campaignId);
      onSocket.delete(p.campaignId);
    }
    for (const fn of listeners.get(p.campaignId) ?? []) safe(() => fn(p));
  };

  const send = (frame: object): void => {
    if (ws !== undefined && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  };

  /** Put unfinished watched campaigns on the socket, up to the gateway's limit. */
  const fillSocket = (): void => {
    if (status !== FeedStatus.live) return;
    for (const id of listeners.keys()) {
      if (onSocket.size >= MAX_SOCKET_WATCHES) return;
      if (onSocket.has(id) || finished.has(id)) continue;
      onSocket.add(id);
      send({ type: 'campaign.watch', campaignId: id });
    }
  };

  const pollOne = (id: string): void => {
    deps.poll(id).then(
      (p) => {
        deps.onPollOutcome?.(undefined);
        dispatch(p);
      },
      (err: unknown) => deps.onPollOutcome?.(err),
    );
  };

  const pollOnce = (): void => {
    for (const id of listeners.keys()) if (!finished.has(id)) pollOne(id);
  };

  const stopPolling = (): void => {
    window.clearInterval(pollTimer);
    pollTimer = undefined;
  };

  /** Polls until the socket is back or the budget (counted from the first failure) is spent. */
  const startPolling = (): void => {
    if (pollTimer !== undefined) return;
    pollingSince = Date.now();
    pollOnce();
    pollTimer = window.setInterval(() => {
      if (Date.now() - pollingSince > pollBudgetMs) {
        stopPolling();
        if (status === FeedStatus.reconnecting) setStatus(FeedStatus.paused);
        return;
      }
      pollOnce();
    }, pollMs);
  };

  const onMessage = (text: string): void => {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // not ours; the gateway only sends JSON
    }
    if (typeof frame !== 'object' || frame === null) return;
    const f = frame as { type?: unknown; campaignId?: unknown; code?: unknown };
    if (f.type === 'ready') {
      failures = 0;
      stopPolling();
      onSocket.clear();
      setStatus(FeedStatus.live);
      fillSocket();
    } else if (f.type === 'campaign.progress' && typeof f.campaignId === 'string') {
      dispatch(frame as Progress);
      fillSocket();
    } else if (f.type === 'session.ended') {
      close();
      deps.onSessionEnded();
    }
  };

  const open = (): void => {
    const socket = new WebSocket(url);
    ws = socket;
    socket.addEventListener('message', (ev: MessageEvent) => {
      if (typeof ev.data === 'string') onMessage(ev.data);
    });
    socket.addEventListener('close', (ev: CloseEvent) => {
      if (ws !== socket) return;
      ws = undefined;
      onSocket.clear();
      window.clearInterval(pingTimer);
      if (status === FeedStatus.closed) return;
      if (ev.code === SESSION_ENDED_CODE) {
        close();
        deps.onSessionEnded();
        return;
      }
      failures += 1;
      if (status !== FeedStatus.paused) setStatus(FeedStatus.reconnecting);
      if (status === FeedStatus.reconnecting) startPolling();
      const delay = Math.min(15_000, 500 * 2 ** Math.min(failures - 1, 5)) * (0.75 + Math.random() * 0.5);
      reconnectTimer = window.setTimeout(open, delay);
    });
    window.clearInterval(pingTimer);
    pingTimer = window.setInterval(() => send({ type: 'ping' }), PING_MS);
  };

  const close = (): void => {
    if (status === FeedStatus.closed) return;
    setStatus(FeedStatus.closed);
    window.clearTimeout(reconnectTimer);
    window.clearInterval(pingTimer);
    stopPolling();
    const socket = ws;
    ws = undefined;
    socket?.close(1000);
  };

  open();

  return {
    get status() {
      return status;
    },
    watch(campaignId, fn) {
      let set = listeners.get(campaignId);
      if (set === undefined) listeners.set(campaignId, (set = new Set()));
      set.add(fn);
      fillSocket();
      // Not live: show the current state now instead of waiting for the socket.
      if (status !== FeedStatus.live) pollOne(campaignId);
      return () => {
        set.delete(fn);
        if (set.size > 0) return;
        listeners.delete(campaignId);
        if (onSocket.delete(campaignId)) send({ type: 'campaign.unwatch', campaignId });
        fillSocket();
      };
    },
    onStatus(fn) {
      statusListeners.add(fn);
      return () => statusListeners.delete(fn);
    },
    refresh() {
      // A replay can put a finished campaign back to work: watch everything again.
      finished.clear();
      if (status === FeedStatus.paused) {
        setStatus(FeedStatus.reconnecting);
        startPolling();
      } else {
        pollOnce();
        fillSocket();
      }
    },
    close,
  };
}

/** A listener that throws must not break the feed or the other listeners. */
function safe(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.error('campaign feed listener failed', err);
  }
}

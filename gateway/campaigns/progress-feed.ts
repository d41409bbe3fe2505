/**
 * Live campaign progress over the authenticated WebSocket: `{"type":"campaign.watch",
 * "campaignId":…}` answers with `campaign.progress` frames (counts by state and skip reason)
 * whenever the counts change, polled from the database once a second — which works the same
 * whichever gateway or worker process moved a delivery — until the campaign is finished, the
 * client sends `campaign.unwatch`, or the socket closes. Counts only: no patient, no message.
 */
import { z } from 'zod';
import { actorTypeOf } from '../../core/identity/principal.ts';
import type { CampaignStore, Progress } from '../../core/campaigns/store.ts';
import type { Logger } from '../../core/log/logger.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import type { WsClient } from '../ws/ws-client.ts';
import type { WsHub } from '../ws/ws-hub.ts';

export interface ProgressFeedDeps {
  readonly hub: Pick<WsHub, 'register'>;
  readonly campaigns: Pick<CampaignStore, 'progress'>;
  readonly access: Pick<AccessControl, 'authorizePrincipal'>;
  readonly log: Logger;
  readonly intervalMs?: number;
}

const MAX_WATCHES_PER_SOCKET = 5;

const finished = (p: Progress): boolean =>
  p.status === 'cancelled' || p.status === 'completed' || p.states.queued + p.states.sending === 0;

export function registerProgressFeed(deps: ProgressFeedDeps): void {
  const watches = new Map<string, Map<string, NodeJS.Timeout>>();
  const stop = (client: WsClient, campaignId: string): void => {
    const mine = watches.get(client.id);
    clearInterval(mine?.get(campaignId));
    mine?.delete(campaignId);
  };

  deps.hub.register('campaign.watch', z.strictObject({ campaignId: z.uuid() }), async (client, frame) => {
    const p = client.session.principal;
    await deps.access.authorizePrincipal(p, { actorType: actorTypeOf(p), actorId: p.userId }, Action.campaignManage, { type: 'system' });
    let mine = watches.get(client.id);
    if (mine === undefined) {
      mine = new Map();
      watches.set(client.id, mine);
      client.onClose(() => {
        for (const t of watches.get(client.id)?.values() ?? []) clearInterval(t);
        watches.delete(client.id);
      });
    }
    if (mine.has(frame.campaignId)) return;
    if (mine.size >= MAX_WATCHES_PER_SOCKET) {
      client.send({ type: 'error', code: 'too_many_watches', message: `Watch at most ${MAX_WATCHES_PER_SOCKET} campaigns per connection; unwatch one first` });
      return;
    }
    let last = '';
    const tick = async (): Promise<void> => {
      const progress = await deps.campaigns.progress(frame.campaignId);
      if (progress === null) {
        client.send({ type: 'error', code: 'not_found', message: 'No such campaign' });
        return stop(client, frame.campaignId);
      }
      const text = JSON.stringify(progress);
      if (text !== last) {
        last = text;
        client.send({ type: 'campaign.progress', ...progress });
      }
      if (finished(progress)) stop(client, frame.campaignId);
    };
    mine.set(
      frame.campaignId,
      setInterval(() => {
        tick().catch((err: unknown) => deps.log.warn({ err, campaignId: frame.campaignId }, 'campaign progress poll failed'));
      }, deps.intervalMs ?? 1_000),
    );
    await tick();
  });

  deps.hub.register('campaign.unwatch', z.strictObject({ campaignId: z.uuid() }), (client, frame) => {
    stop(client, frame.campaignId);
  });
}

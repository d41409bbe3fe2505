/**
 * A campaign's progress as a view sees it: what was loaded at first, then every update the live
 * feed brings (socket frames, or polls while the socket is down). A newer load (more settled, or
 * another status) replaces what the feed said. `initial` must keep its identity between renders.
 */
import { useEffect, useState } from 'preact/hooks';
import type { CampaignFeed } from './campaign-feed.ts';
import { settled } from './reasons.ts';
import type { Progress } from './types.ts';

export function useProgress(feed: CampaignFeed | undefined, campaignId: string, initial: Progress | undefined): Progress | undefined {
  const [progress, setProgress] = useState<Progress | undefined>(initial);
  useEffect(() => {
    setProgress(initial);
    if (feed === undefined) return;
    return feed.watch(campaignId, setProgress);
  }, [feed, campaignId]);
  // A reloaded list may know more than the feed said (a campaign the socket does not watch).
  useEffect(() => {
    if (initial !== undefined) setProgress((p) => (p === undefined || settled(initial.states) > settled(p.states) || initial.status !== p.status ? initial : p));
  }, [initial]);
  return progress;
}

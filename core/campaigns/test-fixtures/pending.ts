/** Every pending delivery of a campaign as one list (tests; production code enqueues page by page). */
import type { CampaignStore, NewDelivery } from '../store.ts';

export async function allPending(campaigns: Pick<CampaignStore, 'pendingPages'>, campaignId: string): Promise<NewDelivery[]> {
  const all: NewDelivery[] = [];
  for await (const page of campaigns.pendingPages(campaignId)) all.push(...page);
  return all;
}

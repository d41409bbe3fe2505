-- Enqueueing a campaign reads its deliveries back in pages by id (keyset: campaign, then id >
-- the last one seen), so a 100,000-recipient campaign never passes through the gateway as one
-- list; this index makes each page a range scan instead of a sort of the whole campaign.
CREATE INDEX deliveries_campaign_id_idx ON deliveries (campaign_id, id);

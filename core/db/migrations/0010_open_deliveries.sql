-- A campaign is completed in the transaction of its last outcome, after asking "is anything of
-- it still queued or sending?" (core/campaigns/completion.ts) — once per group of outcomes. This
-- partial index answers that with one probe; without it, the question near the end of a large
-- campaign walked every one of its (mostly final) rows, for every group.
CREATE INDEX deliveries_open_idx ON deliveries (campaign_id) WHERE state IN ('queued', 'sending');

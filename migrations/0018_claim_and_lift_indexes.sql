-- Claiming takes the oldest pending items in (received_at, id) order: the index gives them in that order, so a large
-- backlog is read from its head instead of sorted whole for every job.
-- The indexes are built first (a build blocks writes to the table, not reads) and the old one dropped last: the drop
-- locks the table against reads too, from then until the migration commits, which is at once.
CREATE INDEX items_pending_order ON items (received_at, id) WHERE status = 'pending';
-- Ending a hotspot drops its lift from the items that carry it (tracker.DROP_LIFT), under the street's lock.
CREATE INDEX items_hotspot ON items (hotspot_id) WHERE hotspot_id IS NOT NULL;
-- A staff correction is exported beside the model's classification it replaced (corrections.CORRECTIONS).
CREATE INDEX classifications_item ON classifications (item_id, created_at);
DROP INDEX items_pending;

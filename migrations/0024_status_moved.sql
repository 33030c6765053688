-- The transaction that last moved an item from one status in the feed to another (assigned, given up on, sent back
-- to work): a feed filtered by status sees the item arrive, possibly above a walk's cursor, although its rank did not
-- change. Kept apart from rank_xid (0019), which the unfiltered feed reads: there an item assigned has not moved.
ALTER TABLE items ADD COLUMN status_xid xid8;

CREATE OR REPLACE FUNCTION items_rank_raised() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- As the generated column `priority` computes it (0003), which a BEFORE trigger cannot read yet.
    IF TG_OP = 'INSERT'
       OR greatest(0, CASE WHEN NEW.risk_level IS NULL THEN 1 ELSE 3 - NEW.risk_level END
                      - CASE WHEN NEW.hotspot_id IS NULL THEN 0 ELSE 1 END) < OLD.priority
       OR (OLD.status = 'closed' AND NEW.status <> 'closed')
       OR NEW.reopened_at IS DISTINCT FROM OLD.reopened_at
       OR NEW.topic IS DISTINCT FROM OLD.topic
       OR NEW.needs_review IS DISTINCT FROM OLD.needs_review THEN
        NEW.rank_xid := pg_current_xact_id();
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status AND NEW.status <> 'closed' THEN
        NEW.status_xid := pg_current_xact_id();
    END IF;
    RETURN NEW;
END
$$;

-- A walk of some statuses reads the items of those statuses raised or moved in since its previous page
-- (feed.MOVED_IN).
CREATE INDEX items_status_moved ON items (status, greatest(rank_xid, status_xid), id) WHERE status <> 'closed';

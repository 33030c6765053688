-- The transaction that last raised an item in the feed, or brought it in: its arrival, a higher rank (a higher risk,
-- a hotspot's lift), its return to work (sent back, reopened), or a change of what the feed's filters read (topic,
-- needs_review). The feed's later pages list the items such a transaction changed that the previous page's snapshot
-- could not see (feed.MOVED_UP), so that an item made urgent mid-walk is not skipped however long its transaction
-- ran. A transaction id, not a time: a change becomes visible when it commits, not when it is made. Existing rows
-- carry none: nothing moved before this migration.
ALTER TABLE items ADD COLUMN rank_xid xid8;

CREATE FUNCTION items_rank_raised() RETURNS trigger LANGUAGE plpgsql AS $$
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
    RETURN NEW;
END
$$;

CREATE TRIGGER items_rank_raised
    BEFORE INSERT OR UPDATE OF risk_level, hotspot_id, status, reopened_at, topic, needs_review ON items
    FOR EACH ROW EXECUTE FUNCTION items_rank_raised();

CREATE INDEX items_rank_raised ON items (rank_xid, id) WHERE status <> 'closed';

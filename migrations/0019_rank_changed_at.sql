-- When an item last entered the feed or changed its place in it: arrival, a new risk level, a hotspot's lift, a
-- status (sent back to work, say). The feed's later pages list the items that rose above a walk's cursor after its
-- previous page was read (feed.MOVED_UP), so that an item made urgent mid-walk is not skipped. Existing rows take the
-- migration's time: nothing moved before it.
ALTER TABLE items ADD COLUMN rank_changed_at timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION items_rank_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.risk_level IS DISTINCT FROM OLD.risk_level
       OR NEW.hotspot_id IS DISTINCT FROM OLD.hotspot_id
       OR NEW.status IS DISTINCT FROM OLD.status THEN
        -- The clock, not the transaction's start: a long transaction's change is still later than a page read
        -- while it ran (and the feed allows a few seconds of slack for one that commits after such a page).
        NEW.rank_changed_at := clock_timestamp();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER items_rank_changed BEFORE INSERT OR UPDATE OF risk_level, hotspot_id, status ON items
    FOR EACH ROW EXECUTE FUNCTION items_rank_changed();

CREATE INDEX items_rank_changed ON items (rank_changed_at) WHERE status <> 'closed';

-- A desk walks its own items (`GET /api/v1/triage?desk=`): an item handed to it from another desk keeps its status and
-- its rank, so status_xid (0024, 0029) now marks a change of desk too, and the desk's walk sees the item arrive.
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
    IF TG_OP = 'UPDATE'
       AND (NEW.status IS DISTINCT FROM OLD.status OR NEW.assigned_to IS DISTINCT FROM OLD.assigned_to) THEN
        NEW.status_xid := pg_current_xact_id();
    END IF;
    RETURN NEW;
END
$$;

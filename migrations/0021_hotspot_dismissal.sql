-- Staff dismiss a hotspot they have judged (a burst already handled, a crowd of reports of one known problem): it
-- leaves the list and its reports lose their lift. It is not raised again for the same case, or the same street and
-- topic, for a week unless its numbers grow well past those it was dismissed at (`tracker.DISMISSAL_HOLDS`).
ALTER TABLE hotspots DROP CONSTRAINT hotspots_status_check;
ALTER TABLE hotspots ADD CONSTRAINT hotspots_status_check CHECK (status IN ('active', 'ended', 'dismissed'));
ALTER TABLE hotspots
    ADD COLUMN dismissed_by   bigint REFERENCES api_tokens (id),
    ADD COLUMN dismissal_note text;  -- why, as staff wrote it with phone, ID and card numbers masked

CREATE INDEX hotspots_dismissed_case ON hotspots (case_id, kind, ended_at) WHERE status = 'dismissed';
CREATE INDEX hotspots_dismissed_area ON hotspots (street, topic, kind, ended_at)
    WHERE status = 'dismissed' AND case_id IS NULL;

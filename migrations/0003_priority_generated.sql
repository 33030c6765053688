-- The feed rank follows from the item's risk and hotspot, so PostgreSQL computes it: no code path can forget it.
-- 0 is the most urgent: risk 3 → 0 … risk 0 → 3; not yet assessed → 1 (a warning, in doubt the higher level);
-- one step higher while the item belongs to a hotspot.

ALTER TABLE items DROP COLUMN priority;

ALTER TABLE items ADD COLUMN priority smallint GENERATED ALWAYS AS (
    greatest(0, CASE WHEN risk_level IS NULL THEN 1 ELSE 3 - risk_level END
                - CASE WHEN hotspot_id IS NULL THEN 0 ELSE 1 END)
) STORED;

CREATE INDEX items_feed ON items (priority, received_at, id) WHERE status <> 'closed';
CREATE INDEX items_street_feed ON items (street, priority, received_at) WHERE status <> 'closed';

-- The district-wide prior for burst detection (how many distinct problems a street × topic sees a day), refitted
-- hourly from place_topic_days by the workers; one row.
CREATE TABLE district_prior (
    id         smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    rate       double precision NOT NULL,
    days       double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Staff merge cases the machine kept apart; the emptied case remembers where its reports went.
ALTER TABLE cases ADD COLUMN merged_into bigint REFERENCES cases (id);

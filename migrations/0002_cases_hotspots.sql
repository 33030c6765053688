-- Places, cases (reports of one concrete problem grouped), per-day counts per place and topic, and hotspots.

ALTER TABLE items
    ADD COLUMN street         text,              -- 街道/镇 from the gazetteer; NULL when the text does not say
    ADD COLUMN locality       text,              -- 社区/小区/村/road when it resolves without guessing
    ADD COLUMN locality_level text,
    ADD COLUMN case_id        bigint,
    ADD COLUMN case_score     real,              -- the machine's grouping score; NULL when staff placed it
    ADD COLUMN hotspot_id     bigint;            -- a current hotspot the item belongs to: lifts it in the feed

CREATE INDEX items_street_feed ON items (street, priority, received_at) WHERE status <> 'closed';
CREATE INDEX items_case ON items (case_id);

CREATE TABLE cases (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    street         text,
    locality       text,
    topic          text,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_at      timestamptz NOT NULL,         -- received_at of the first report
    last_activity  timestamptz NOT NULL,         -- received_at of the latest report
    size           integer NOT NULL DEFAULT 0,   -- reports in the case
    max_risk       smallint,
    -- Sum of the members' text signatures (hashed features and weights), for matching new reports.
    signature_keys    bigint[] NOT NULL DEFAULT '{}',
    signature_weights real[] NOT NULL DEFAULT '{}',
    summary        text NOT NULL DEFAULT '',     -- the first report's masked text, cut short
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Open cases of a street, newest first: where a new report looks for its case.
CREATE INDEX cases_open_by_street ON cases (street, last_activity DESC) WHERE status = 'open';

ALTER TABLE items ADD CONSTRAINT items_case_fk FOREIGN KEY (case_id) REFERENCES cases (id);

-- Distinct problems (new cases) and reports per street, topic and day: what burst detection reads. One row per
-- (street, topic, day), so updating it for a new item is O(1) however many items are stored.
CREATE TABLE place_topic_days (
    street   text NOT NULL,
    topic    text NOT NULL,
    day      date NOT NULL,
    problems integer NOT NULL DEFAULT 0,
    reports  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (street, topic, day)
);

CREATE TABLE hotspots (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('burst', 'case', 'escalation')),
    street      text,
    topic       text,
    case_id     bigint REFERENCES cases (id),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    why         jsonb NOT NULL,                  -- the numbers behind it: counts vs expected, reporters, risk trend
    score       real NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz
);

-- At most one active hotspot of a kind for a place and topic, or for a case.
CREATE UNIQUE INDEX hotspots_active_burst ON hotspots (street, topic) WHERE status = 'active' AND kind = 'burst';
CREATE UNIQUE INDEX hotspots_active_case ON hotspots (case_id, kind) WHERE status = 'active' AND kind <> 'burst';

ALTER TABLE items ADD CONSTRAINT items_hotspot_fk FOREIGN KEY (hotspot_id) REFERENCES hotspots (id);

-- Items, their contacts, classifications, API tokens and idempotency keys.

CREATE TABLE api_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,          -- sha256 of the bearer token; the token itself is never stored
    role        text NOT NULL CHECK (role IN ('operator', 'grid', 'staff', 'admin')),
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE items (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tracking_code    text NOT NULL UNIQUE,
    channel          text NOT NULL CHECK (channel IN ('web', 'hotline', 'grid')),
    kind             text CHECK (kind IN ('suggestion', 'complaint', 'inquiry', 'report', 'help')),
    kind_source      text NOT NULL DEFAULT 'sender' CHECK (kind_source IN ('sender', 'model')),
    text             text NOT NULL,              -- as received: the record; never listed, never logged
    text_masked      text NOT NULL,              -- phone, ID and card numbers masked: what staff and the public see
    place            text NOT NULL DEFAULT '',
    lat              double precision CHECK (lat BETWEEN -90 AND 90),
    lon              double precision CHECK (lon BETWEEN -180 AND 180),
    external_id      text,
    submitted_by     bigint REFERENCES api_tokens (id),
    received_at      timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz,
    -- pending: waiting for classification; open: classified, in the feed; failed: classification kept failing,
    -- in the feed for manual triage; assigned and closed: staff workflow.
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'open', 'failed', 'assigned', 'closed')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,                       -- exception class only, never a message that may quote the text
    lease_until      timestamptz,                -- a worker holds the item until then; expired leases are free
    -- The current classification, copied here so the feed is one index scan.
    classification_id bigint,
    topic            text,
    risk_level       smallint CHECK (risk_level BETWEEN 0 AND 3),
    needs_review     boolean NOT NULL DEFAULT false,
    -- Feed rank: 0 is the most urgent. Follows risk; unclassified items rank as a warning until a person or the
    -- model has looked at them.
    priority         smallint NOT NULL DEFAULT 1,
    CONSTRAINT lat_lon_together CHECK ((lat IS NULL) = (lon IS NULL)),
    CONSTRAINT external_id_once UNIQUE (channel, external_id)
);

CREATE INDEX items_feed ON items (priority, received_at, id) WHERE status <> 'closed';
CREATE INDEX items_pending ON items (received_at) WHERE status = 'pending';

-- Contact data lives apart from the text so that it can be shown, exported and anonymised on its own.
CREATE TABLE contacts (
    item_id     bigint PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    name        text,
    phone       text,
    anonymised_at timestamptz
);

CREATE TABLE classifications (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id          bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    topic            text NOT NULL,
    topic_confidence real NOT NULL CHECK (topic_confidence BETWEEN 0 AND 1),
    risk_level       smallint NOT NULL CHECK (risk_level BETWEEN 0 AND 3),
    risk_confidence  real NOT NULL CHECK (risk_confidence BETWEEN 0 AND 1),
    kind             text,
    terms            text[] NOT NULL DEFAULT '{}',
    needs_review     boolean NOT NULL,
    model_version    text NOT NULL,
    source           text NOT NULL DEFAULT 'model' CHECK (source IN ('model', 'staff')),
    is_current       boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Exactly one current classification per item.
CREATE UNIQUE INDEX classifications_current ON classifications (item_id) WHERE is_current;

ALTER TABLE items ADD CONSTRAINT items_classification_fk
    FOREIGN KEY (classification_id) REFERENCES classifications (id);

CREATE TABLE idempotency_keys (
    scope        text NOT NULL,                  -- channel and token: keys of different clients never collide
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    item_id      bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

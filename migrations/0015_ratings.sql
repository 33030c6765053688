-- Residents rate the reply they were given. A rating is about one closing of an item (its closed_at then): a
-- resident who is dissatisfied sends the item back to work, and its next closing is rated anew. A rating can be
-- changed while its closing stands; each closing keeps its last rating, so staff can read how replies were received.
CREATE TABLE ratings (
    item_id   bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    closed_at timestamptz NOT NULL,  -- the closing rated
    rating    text NOT NULL CHECK (rating IN ('satisfied', 'basically_satisfied', 'dissatisfied')),
    comment   text,                  -- the resident's words, phone, ID and card numbers masked before storing
    reopened  boolean NOT NULL DEFAULT false,  -- the rating sent the item back to work
    desk      text,                  -- the desk that wrote the reply, and the item's topic then: a reply sent back
    topic     text,                  -- is counted against them even when the item moves on
    rated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (item_id, closed_at)
);
CREATE INDEX ratings_by_closing ON ratings (closed_at);

ALTER TABLE items
    ADD COLUMN satisfaction text CHECK (satisfaction IN ('satisfied', 'basically_satisfied', 'dissatisfied')),
    ADD COLUMN reopened_at  timestamptz,           -- the last time a dissatisfied resident sent it back
    ADD COLUMN reopen_count integer NOT NULL DEFAULT 0;

-- The satisfaction report counts closings by when they happened.
CREATE INDEX items_closed_at ON items (closed_at) WHERE status = 'closed';

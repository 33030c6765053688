-- Every rating given, in order: `ratings` keeps each closing's last one, so a rating staff took down on a call back
-- (and which staff token did) was lost once the resident, or another call, changed it. Satisfaction counts for the
-- desks: who recorded what is kept. The resident's comment stays in `ratings` only.
CREATE TABLE rating_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id     bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    closed_at   timestamptz NOT NULL,  -- the closing rated
    rating      text NOT NULL CHECK (rating IN ('satisfied', 'basically_satisfied', 'dissatisfied')),
    source      text NOT NULL CHECK (source IN ('resident', 'callback')),
    recorded_by bigint REFERENCES api_tokens (id),
    rated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rating_changes_by_item ON rating_changes (item_id, closed_at);

-- The ratings standing now are the last of their histories; the ones they replaced are not known.
INSERT INTO rating_changes (item_id, closed_at, rating, source, recorded_by, rated_at)
SELECT item_id, closed_at, rating, source, recorded_by, rated_at FROM ratings ORDER BY rated_at;

-- The words given with each rating, masked as `ratings.comment` is. `ratings` keeps a closing's standing rating and
-- its words only: words given with a rating the resident (or a call back) changed since were lost. Null: none given,
-- or given before this release (the words of the ratings standing then are in `ratings`).
ALTER TABLE rating_changes ADD COLUMN comment text;

-- Words a resident gave with a rating that no reply takes: staff withdrew the reply they rated while they were
-- writing (the tracking page was open, or a call back was under way). The rating is not counted, the reply no longer
-- standing; the words are the resident's, for staff, on the item. Masked, as a rating's comment is.
CREATE TABLE resident_comments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id     bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    closed_at   timestamptz,  -- the closing whose reply they rated, as they named it; null when they named none
    rating      text NOT NULL CHECK (rating IN ('satisfied', 'basically_satisfied', 'dissatisfied')),
    comment     text NOT NULL,
    source      text NOT NULL CHECK (source IN ('resident', 'callback')),
    recorded_by bigint REFERENCES api_tokens (id),  -- the staff token that took them down on a call
    said_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resident_comments_by_item ON resident_comments (item_id, said_at);

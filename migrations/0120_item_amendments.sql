-- An operator or a grid worker who filed a call with a wrong place, kind or call-back detail corrects it (staff may
-- too): each correction is kept with who made it, when, which fields it changed and what they held before. What they
-- held is kept as staff read it: the place masked as it always is, a name or a phone only as the placeholder that
-- masks it, so that this record holds nothing retention would have to erase.
CREATE TABLE item_amendments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id     bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    amended_by  bigint NOT NULL REFERENCES api_tokens (id),
    amended_at  timestamptz NOT NULL DEFAULT now(),
    fields      text[] NOT NULL,
    before      jsonb NOT NULL
);
CREATE INDEX item_amendments_by_item ON item_amendments (item_id, amended_at);

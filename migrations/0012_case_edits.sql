-- Staff corrections of the machine's grouping: who merged two cases, moved a report to another case or split it into
-- a case of its own, and which reports stood on either side at that moment. A record of who changed what, and labels
-- for measuring and retraining the grouping: the reports of a merge, and a moved report and its new case, are one
-- problem; a moved or split report and the case it left are two. Item and case ids only, no text.
CREATE TABLE case_edits (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    edited_by     bigint REFERENCES api_tokens (id),
    action        text NOT NULL CHECK (action IN ('merge', 'move', 'split')),
    item_id       bigint REFERENCES items (id),           -- move and split: the report; merge: NULL
    from_case     bigint NOT NULL REFERENCES cases (id),  -- the case merged away, or the case the report left
    to_case       bigint NOT NULL REFERENCES cases (id),
    from_members  bigint[] NOT NULL,                      -- reports left in (move, split) or moved from (merge) from_case
    to_members    bigint[] NOT NULL,                      -- reports of to_case before the edit
    machine_score real,                                   -- the report's score with the case it left (move, split)
    member_scores real[]                                  -- merge: the machine's score of each report in from_members
);
CREATE INDEX case_edits_at ON case_edits (at);

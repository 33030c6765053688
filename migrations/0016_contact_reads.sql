-- Staff call residents back to answer them and to ask whether they are satisfied, so they may read an item's contact.
-- Every read is recorded: who read which item's contact, and when. The record holds no personal data itself.
CREATE TABLE contact_reads (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id  bigint NOT NULL REFERENCES items (id),  -- no cascade: deleting an item must not erase who read it
    read_by  bigint NOT NULL REFERENCES api_tokens (id),
    read_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_reads_by_item ON contact_reads (item_id, read_at);
CREATE INDEX contact_reads_by_reader ON contact_reads (read_by, read_at);

-- A rating is the resident's own (by the tracking code) or one staff took down on a call back.
ALTER TABLE ratings
    ADD COLUMN source      text NOT NULL DEFAULT 'resident' CHECK (source IN ('resident', 'callback')),
    ADD COLUMN recorded_by bigint REFERENCES api_tokens (id);

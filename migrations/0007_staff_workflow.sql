-- Staff workflow: an item is assigned to a desk or department, then closed with a reply to the resident.

ALTER TABLE items
    ADD COLUMN assigned_to   text,           -- the desk or department handling the item
    ADD COLUMN assigned_at   timestamptz,
    ADD COLUMN assigned_by   bigint REFERENCES api_tokens (id),
    ADD COLUMN answer        text,           -- the reply to the resident, as staff wrote it: the record
    ADD COLUMN answer_masked text,           -- the reply with phone, ID and card numbers masked: what is shown
    ADD COLUMN closed_by     bigint REFERENCES api_tokens (id);

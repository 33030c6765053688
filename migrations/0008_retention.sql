-- Retention: the personal data of items closed long ago is anonymised; the items stay for the statistics.

ALTER TABLE items ADD COLUMN anonymised_at timestamptz;  -- when raw text, raw reply and contact were let go

-- Closed items not yet anonymised, oldest first: what each retention run reads, a batch at a time.
CREATE INDEX items_to_anonymise ON items (closed_at, id) WHERE status = 'closed' AND anonymised_at IS NULL;

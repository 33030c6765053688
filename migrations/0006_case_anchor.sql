-- A case remembers its first report's signature: a new report must resemble it too, so a case whose running mean
-- has grown generic (many reports, long letters) cannot swallow unrelated problems.
ALTER TABLE cases
    ADD COLUMN anchor_keys    bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN anchor_weights real[] NOT NULL DEFAULT '{}';
UPDATE cases SET anchor_keys = signature_keys, anchor_weights = signature_weights;

-- What a case's reports say is at fault and where exactly: the problem facets they name (crc32 of each facet's
-- name) and the building numbers (12号楼). A new report naming only other facets, or only other buildings, is
-- weighed down. Cases opened before these columns keep none and are compared on their text alone.
ALTER TABLE cases
    ADD COLUMN signature_facets    bigint[]  NOT NULL DEFAULT '{}',
    ADD COLUMN signature_buildings integer[] NOT NULL DEFAULT '{}';

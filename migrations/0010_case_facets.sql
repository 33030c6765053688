-- The problem facets a case's reports name (crc32 of each facet's name): a new report naming only other facets is
-- weighed down. Cases opened before this column keep none and are compared on their text alone.
ALTER TABLE cases ADD COLUMN signature_facets bigint[] NOT NULL DEFAULT '{}';

-- Each feed entry names the report its case had before it (`triage.feed.COLUMNS`, case_previous_at: a problem
-- reported again after its case went quiet): the case's latest member received before the item, read from this index
-- as a few entries, where an index on case_id alone would read every member of a large case for every entry. It
-- serves every lookup of a case's items the index it replaces served, so that one is dropped: items keep one index
-- of their case, written as often as before. Built before the old one is dropped (0100 says why), in this
-- migration's transaction: the build holds up writes of items for the seconds it takes, not reads.
CREATE INDEX items_case_by_time ON items (case_id, received_at, id) WHERE case_id IS NOT NULL;
DROP INDEX items_case;
ALTER INDEX items_case_by_time RENAME TO items_case;

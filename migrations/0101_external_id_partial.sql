-- A sender's record number is unique in its channel; most items (every resident's) have none, and each version of
-- their rows was still entered in this index, under NULL, which no look-up reads (`channel = $1 AND external_id = $2`).
-- The index now holds the items that have one: a WAL record fewer for each version of every other item's row.
-- `store.INSERT_ITEM` names the index's condition in its ON CONFLICT.
ALTER TABLE items DROP CONSTRAINT external_id_once;
CREATE UNIQUE INDEX external_id_once ON items (channel, external_id) WHERE external_id IS NOT NULL;

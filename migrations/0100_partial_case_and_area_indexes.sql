-- Every version of an item's row is entered in each index of items that covers it, and a row is written three times
-- before its item is placed: when it arrives, when the worker classifies it, when it joins a case. Until then it has
-- no case, and until it is classified no topic; no query looks an item up by a case, a street or a topic it does not
-- have (`case_id = $1`, a join on the case, `street = $1 AND topic = $2`), so those versions are left out of these
-- two indexes: three index entries an item fewer, more for an item of no known street. The service's queries read
-- them as they read the indexes before, and the API of the release before, serving while this runs, reads them too.
-- Each index is built before the one it replaces is dropped: a drop locks out readers of items until the migration
-- commits, and the build (seconds for a district's items) only holds up writes, as any new index does.
CREATE INDEX items_placed_case ON items (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX items_classified_area ON items (street, topic, received_at) WHERE street IS NOT NULL AND topic IS NOT NULL;
DROP INDEX items_case;
DROP INDEX items_street_topic_time;
ALTER INDEX items_placed_case RENAME TO items_case;
ALTER INDEX items_classified_area RENAME TO items_street_topic_time;

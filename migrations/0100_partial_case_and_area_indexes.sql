-- Every version of an item's row is entered in each index of items that covers it, and a row is written three times
-- before its item is placed: when it arrives, when the worker classifies it, when it joins a case. Until then it has
-- no case, and until it is classified no topic; no query looks an item up by a case, a street or a topic it does not
-- have (`case_id = $1`, a join on the case, `street = $1 AND topic = $2`), so those versions are left out of these
-- two indexes: three index entries an item fewer, more for an item of no known street. The service's queries read
-- them as they read the indexes before.
DROP INDEX items_case;
CREATE INDEX items_case ON items (case_id) WHERE case_id IS NOT NULL;
DROP INDEX items_street_topic_time;
CREATE INDEX items_street_topic_time ON items (street, topic, received_at)
    WHERE street IS NOT NULL AND topic IS NOT NULL;

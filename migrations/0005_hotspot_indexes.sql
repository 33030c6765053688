-- Lookups the hotspot tracker makes for every new item, made index scans so they cost the same at any size:
-- the district's first day of counts, and an area's recent reports.
CREATE INDEX place_topic_days_day ON place_topic_days (day);
CREATE INDEX items_street_topic_time ON items (street, topic, received_at);

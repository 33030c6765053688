-- The level of a case's locality (社区, 小区, 村, 道路, 地标), as the gazetteer gave it to the report that named it.
-- Two different estates or villages of one street are weighed down harder than an estate and a road or landmark,
-- which residents name for the same spot. Cases opened before this column keep none and are weighed as before.
ALTER TABLE cases ADD COLUMN locality_level text;

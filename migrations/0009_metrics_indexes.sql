-- /metrics reads recent classifications and failed items at every scrape: both stay index lookups as the tables grow.
CREATE INDEX classifications_created ON classifications (created_at);
CREATE INDEX items_failed ON items (id) WHERE status = 'failed';

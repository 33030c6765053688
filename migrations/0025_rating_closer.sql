-- Who wrote the reply a rating is about (the staff token that closed the item). A dissatisfied resident sends the
-- item back and its closed_by is cleared for the next closing: the rating keeps who wrote the reply rejected.
ALTER TABLE ratings ADD COLUMN closed_by bigint REFERENCES api_tokens (id);

-- The ratings of replies still standing know their writer from the item; those of replies sent back before this
-- migration lost it.
UPDATE ratings r SET closed_by = i.closed_by FROM items i WHERE i.id = r.item_id AND i.closed_at = r.closed_at;

-- An item's satisfaction is the resident's rating of the reply it stands on. Closing an item again after a resident
-- sent a reply back left that rating on it, so the new reply read as rejected before anyone had rated it; closings
-- now clear it. Items closed again and not yet rated lose the rating of the reply they no longer stand on (it stays
-- in `ratings`).
UPDATE items i SET satisfaction = NULL
WHERE i.status = 'closed' AND i.satisfaction IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.item_id = i.id AND r.closed_at = i.closed_at);

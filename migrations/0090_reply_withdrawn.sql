-- When staff last withdrew a reply of the item (POST /api/v1/items/{id}/reopen): a resident who read it is told, on
-- the tracking page, that it was withdrawn and the item is at work again, rather than finding it gone without a word.
ALTER TABLE items ADD COLUMN reply_withdrawn_at timestamptz;

-- Replies withdrawn before: the staff note each withdrawal wrote says when.
UPDATE items i SET reply_withdrawn_at = n.written_at
FROM (
    SELECT item_id, max(written_at) AS written_at FROM item_notes
    WHERE NOT public AND text LIKE '撤回答复：%' GROUP BY item_id
) n
WHERE n.item_id = i.id AND i.status <> 'closed';

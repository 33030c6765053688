-- The reply a rating is about, as the resident read it (phone, ID and card numbers masked). A reply the resident
-- sends back is replaced on the item when the desk answers again; its rating keeps it, so that whoever follows a
-- 不满意件 up can read what was rejected. Ratings recorded before this migration carry none.
ALTER TABLE ratings ADD COLUMN answer_masked text;

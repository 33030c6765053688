-- Every time an item is handed to a desk or department, and by whom. The item carries its current desk only: a
-- reassignment replaced the desk that had it before, and who handed it on, for good.
CREATE TABLE item_assignments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id     bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    desk        text NOT NULL,
    assigned_by bigint REFERENCES api_tokens (id),
    assigned_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX item_assignments_by_item ON item_assignments (item_id, assigned_at);

-- The current desks are known; the ones they replaced are not.
INSERT INTO item_assignments (item_id, desk, assigned_by, assigned_at)
SELECT id, assigned_to, assigned_by, coalesce(assigned_at, updated_at) FROM items WHERE assigned_to IS NOT NULL
ORDER BY id;

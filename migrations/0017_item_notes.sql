-- Staff follow an item up between assigning and closing it: each step is a note. A public note is an interim reply
-- the resident reads on the tracking page (阶段性答复: "已派单至城管科，预计本周处理"); the others are for staff.
CREATE TABLE item_notes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id     bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    text        text NOT NULL,     -- as staff wrote it: the record; replaced by the masked form by retention
    text_masked text NOT NULL,     -- phone, ID and card numbers masked: what staff and the resident see
    public      boolean NOT NULL DEFAULT false,
    written_by  bigint REFERENCES api_tokens (id),
    written_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX item_notes_by_item ON item_notes (item_id, written_at);

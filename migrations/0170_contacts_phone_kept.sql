-- The phone's own index again, beside its line's (0160): the release before compares phones whole (`phone = $1`, in
-- the caller's history, a caller's cases and the tracker's follow-ups), and its API and workers run on while a
-- rolling deploy applies this release's migrations; without it each call taken and each report placed read every
-- contact. A release after the next, when no release running compares phones whole, may drop it.
CREATE INDEX IF NOT EXISTS contacts_phone ON contacts (phone, item_id) WHERE phone IS NOT NULL;

-- An operator taking a call may list the caller's earlier items by the caller's phone (`POST /api/v1/callers/items`):
-- that links a phone to items as reading their contact does, so each item listed is recorded as a read too, marked
-- apart from a read of the contact itself.
ALTER TABLE contact_reads
    ADD COLUMN purpose text NOT NULL DEFAULT 'contact' CHECK (purpose IN ('contact', 'caller_history'));

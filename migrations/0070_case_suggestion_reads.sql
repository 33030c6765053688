-- An operator who asks which open cases a call belongs to, with the caller's phone (`POST /api/v1/cases/suggest`, the
-- console's 查相似案件), is shown the cases the phone reported first, marked as the caller's own: that links the phone
-- to those reports as listing the caller's history does, so each such report is recorded as a read of its contact.
ALTER TABLE contact_reads DROP CONSTRAINT contact_reads_purpose_check;
ALTER TABLE contact_reads ADD CONSTRAINT contact_reads_purpose_check
    CHECK (purpose IN ('contact', 'caller_history', 'case_suggestion'));

-- A caller is their line, whatever extension they gave (010-69712345转808 and the caller ID's 010-69712345): the
-- caller's history, the open cases of their reports, a follow-up's own case and a case's reporters compare phones
-- without it (`privacy.phone_line`), by this index; the extension stays in `phone` for the call back.
CREATE INDEX contacts_line ON contacts ((split_part(phone, '转', 1)), item_id) WHERE phone IS NOT NULL;
DROP INDEX contacts_phone;

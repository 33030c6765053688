-- A resident's follow-up joins the case of their own earlier report (`cases.follow_up`), and an operator who has the
-- caller's phone sees the caller's open cases first: both read the phone's latest reports, a bounded index range
-- however many contacts are kept. Anonymised contacts have no phone.
CREATE INDEX contacts_phone ON contacts (phone, item_id) WHERE phone IS NOT NULL;

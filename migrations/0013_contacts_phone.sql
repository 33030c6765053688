-- A resident's follow-up joins the case of their own earlier report (`cases.follow_up`): the tracker looks up the
-- other reports of the same phone, an index lookup however many contacts are kept. Anonymised contacts have none.
CREATE INDEX contacts_phone ON contacts (phone) WHERE phone IS NOT NULL;

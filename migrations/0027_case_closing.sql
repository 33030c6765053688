-- Staff close a case with one reply to every reporter still waiting (`editing.close_case`): when, and which staff
-- token. The reports it closed carry the reply and the token too, but a case whose reports were all answered on their
-- own kept no trace of its closing. A case emptied or merged away is closed without these.
ALTER TABLE cases
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN closed_by bigint REFERENCES api_tokens (id);

-- The reply staff close a case with (`editing.close_case`), as its reporters read it (phone, ID and card numbers
-- masked). The reports it closed carry it too, but a case whose reports were all answered on their own kept no trace
-- of what its reply said. Stored masked only: the raw reply is each report's record.
ALTER TABLE cases ADD COLUMN answer_masked text;

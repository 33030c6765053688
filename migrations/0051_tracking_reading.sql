-- An operator types a tracking code as a caller reads it out, and hears some symbols as others (`tracking_code.py`,
-- READ_ALIKE): with a token, a reading that can be only one stored code finds it. The look-up reads this index of
-- every code with each class of symbols that read alike folded to one.
CREATE INDEX items_tracking_reading ON items (translate(replace(tracking_code, '-', ''), 'ZSBPGJVTNQ', '258866UDM9'));

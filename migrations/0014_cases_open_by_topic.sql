-- A report that names no street is compared with the open cases of its topic, and a suggestion typed before the place
-- is known with the open cases of every street: both read the most recently active first, by these indexes, however
-- many old cases stay open.
CREATE INDEX cases_open_by_topic ON cases (topic, last_activity DESC) WHERE status = 'open';
CREATE INDEX cases_open_recent ON cases (last_activity DESC) WHERE status = 'open';

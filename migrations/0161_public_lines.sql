-- The district's public and office numbers (SUGGESTIONS_PUBLIC_PHONES) as lines, written by each worker as it starts
-- (`tracker.record_public_lines`): a report left with one is no one person's when a case counts its reporters
-- (`tracker.WITH_CONTACT`). Public numbers, no resident's.
CREATE TABLE public_lines (line text PRIMARY KEY);

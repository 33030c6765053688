-- Copies of one text count once (a case's reporters without a phone, the points of its risk trend). Word for word
-- caught a letter sent again, not a flood of one text from many addresses with another number or string of letters
-- in each post (an advertisement's contact, a script's counter): its copies made a crowd, a hotspot, and each was
-- lifted above residents' own reports. A text of at least 8 Chinese characters is told by those characters alone;
-- a shorter one (3号楼停水了, 5号楼停水了: two residents) word for word, as before. Computed once, as a row is written,
-- by PostgreSQL (the regular expression is too slow to run over a case's reports at each judgement).
ALTER TABLE items ADD COLUMN copy_key bigint GENERATED ALWAYS AS (
    hashtextextended(
        CASE WHEN length(regexp_replace(text, '[^\u3400-\u9fff]', '', 'g')) >= 8
             THEN regexp_replace(text, '[^\u3400-\u9fff]', '', 'g')
             ELSE text
        END,
        0
    )
) STORED;

"""Cases and hotspots, kept up to date as each item is classified.

Runs inside the transaction that records an item's classification, so an item is classified, placed in a case and
counted exactly once, or not at all. The work per item is bounded whatever the number of items stored: one index
scan for candidate cases of its street, one row of daily counts, at most a month of its series, at most a case's
latest reports; and for a long letter, the latest MEMBERS_READ reports of each case it is checked against
(`cases.needs_a_member`: three cases at most, and each case it would absorb).

What it makes of the reports depends on the reports and their times, not on how a worker happened to batch them:
a batch is placed one report at a time in (received_at, id) order, each report exactly as it would be placed on its
own, and what is read of a street's reports (an area's risks, a burst's members) is what was placed so far. The
batch's other reports are classified in the same transaction before any is placed; read by street and topic they
would let a verdict count reports of its batch that were not placed yet, and none of the next batch's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec

from suggestions.db import rerun_after_schema_change
from suggestions.hotspots.bursts import (
    DEFAULT_PRIOR,
    BurstVerdict,
    DayCount,
    DistrictPrior,
    Escalation,
    RiskPoint,
    burst,
    escalation,
)
from suggestions.hotspots.bursts import district_prior as fit_prior
from suggestions.hotspots.cases import (
    MEMBER_TRIES,
    CaseCandidate,
    Match,
    Report,
    cases_to_absorb,
    choose_case,
    member_floor,
    merge_signature,
    needs_a_member,
    resembles_a_member,
    same_place_names,
    says_follow_up,
    says_unresolved,
)
from suggestions.hotspots.similarity import Signature, signature, similarity
from suggestions.privacy import public_lines

# A case whose reporters (`CASE_FACTS`) reach this many is a hotspot on its own: many people see the same problem.
CASE_HOTSPOT_REPORTS = 5
# A hotspot staff dismissed is not raised again for the same case, or the same street and topic, for DISMISSAL_HOLDS
# after, unless its score outgrows the dismissed one's by RAISED_AGAIN (a burst's count against expected, a case's
# reporters), or, for an escalation, its risk level rises above the one dismissed.
DISMISSAL_HOLDS = timedelta(days=7)
RAISED_AGAIN = 1.5
CASE_WINDOW = timedelta(days=7)
# A case takes new reports for this long after its first: a problem that lasts longer opens a new case (staff may
# merge them), so no case grows without end. An unsolved problem keeps being reported for weeks: stream 22's
# clusters run up to 43 days with a report every few days, and the real stream's mixing plant 26 days and on. At 30
# days that plant was two cases (34 letters and 16) and stream 22 scored 0.995 / 0.374; at 60 it is one of 53 (two of
# them about another estate's night building work), stream 22 scores 1.000 / 0.658, and streams 1-21 group as
# before. 90 days added one letter of the plant, and changed nothing else. The cost: a case kept busy for longer
# also gathers more letters of one kind (with the real stream's senders, five of the eleven other cases it changed).
CASE_LIFETIME = timedelta(days=60)
# A report must resemble a case's first report at least this much as well as the case as a whole (chosen on the
# tuning half of the evaluation stream: the largest value that costs nothing there).
ANCHOR_FLOOR = 0.10
# The reports of a case a long letter is compared with, one by one (`cases.needs_a_member`): its latest.
MEMBERS_READ = 50
MEMBER_TEXTS = """
SELECT text_masked, street, locality FROM items
WHERE case_id = $1 AND id <> $2
ORDER BY received_at DESC, id DESC
LIMIT $3
"""
# Candidate cases looked at for one report: the most recently active of its street.
CANDIDATES = 500
BURST_WINDOW_HOURS = 72
# Days of counts a burst verdict reads: the 3-day window, the 28-day baseline and a day of slack.
SERIES_DAYS = 32
# Reports of a case an escalation verdict reads: its latest.
ESCALATION_POINTS = 200
# An area's risk trend reads its reports of the last two weeks, and needs a few of them.
AREA_WINDOW = timedelta(days=14)
AREA_MIN_REPORTS = 4
# Days are the district's days: a burst "today" means today in the district.
DISTRICT_ZONE = ZoneInfo("Asia/Shanghai")


class Placed(msgspec.Struct, frozen=True):
    """A freshly classified item, as the tracker needs it."""

    id: int
    text: str
    street: str | None
    locality: str | None
    topic: str
    risk_level: int
    received_at: datetime
    signature: Signature
    locality_level: str | None = None
    # A resident's phone, by web form or hotline: False spares the lookup of the resident's own cases (OWN_CASES);
    # True when not known, and the lookup tells.
    resident_phone: bool = True


# Cases of the report's street, and cases whose street nobody has named yet (a report that names it may join them).
CANDIDATE_CASES = """
SELECT id, street, locality, locality_level, topic, last_activity, signature_keys, signature_weights,
       signature_facets, signature_buildings, size, anchor_keys, anchor_weights
FROM cases
WHERE status = 'open' AND (street = $1 OR street IS NULL) AND last_activity > $2 AND opened_at > $4
ORDER BY last_activity DESC, id DESC
LIMIT $3
"""

# A report with no known street is compared with the open cases of its topic anywhere (weighted down as "unknown
# place"), not with every open case of the district.
CANDIDATE_CASES_NO_STREET = """
SELECT id, street, locality, locality_level, topic, last_activity, signature_keys, signature_weights,
       signature_facets, signature_buildings, size, anchor_keys, anchor_weights
FROM cases
WHERE status = 'open' AND topic = $1 AND last_activity > $2 AND opened_at > $4
ORDER BY last_activity DESC, id DESC
LIMIT $3
"""

# The open cases of the report's street, topic and locality (its names with each kind's suffix: `cases.reopens`
# compares them) gone quiet past the matching window but opened within a case's lifetime, for a report that says its
# problem is still there (`cases.reopens`), the latest first. The street's index reads its quiet weeks only.
QUIET_CASES = """
SELECT id, street, locality, locality_level, topic, last_activity, signature_keys, signature_weights,
       signature_facets, signature_buildings, size, anchor_keys, anchor_weights
FROM cases
WHERE status = 'open' AND street = $1 AND last_activity <= $2 AND last_activity > $3 AND opened_at > $3
  AND topic = $4 AND locality = ANY($5::text[])
ORDER BY last_activity DESC, id DESC
LIMIT $6
"""
# An estate's quiet cases of one topic within a case's lifetime: a busy estate's 城乡建设 holds its lift, heating, water
# and lights, each a case of its own; the report's own must not fall out of those read.
QUIET_CASES_READ = 20

# The open cases holding another report of the same resident, for `cases.follow_up`: the same phone on the web form
# or to the hotline (a grid worker's reports of many problems may all carry the worker's own; one of the district's
# public numbers, which an operator may type for callers who give none, is nobody's), received within a case's
# lifetime of this one, before or after it (reports are placed out of order too), rather than its 7 days: a resident may
# chase a problem nobody else reports after a week. The phone never leaves the database. The work is bounded: the
# phone's RESIDENT_REPORTS reports next before and next after this one in id order (ids follow intake, so these are
# the nearest in time unless an import was out of order), and OWN_CASES_MAX + 1 cases, enough to tell a shared phone.
# Each step is materialised so that it runs in this order, by keys and the phone's index, whatever the statistics say:
# planned freely over a young database, the lookup scanned every open case for each report.
RESIDENT_REPORTS = 50
OWN_CASES_MAX = 3
OWN_CASES = """
WITH mine AS MATERIALIZED (
    SELECT split_part(contact.phone, '转', 1) AS line, item.received_at
    FROM items item JOIN contacts contact ON contact.item_id = item.id
    WHERE item.id = $1 AND item.channel <> 'grid' AND contact.phone IS NOT NULL AND contact.anonymised_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM public_lines p WHERE p.line = split_part(contact.phone, '转', 1))
), theirs AS MATERIALIZED (
    SELECT before.item_id FROM mine CROSS JOIN LATERAL (
        SELECT item_id FROM contacts
        WHERE split_part(phone, '转', 1) = mine.line AND item_id < $1 ORDER BY item_id DESC LIMIT $4
    ) before
    UNION ALL
    SELECT after.item_id FROM mine CROSS JOIN LATERAL (
        SELECT item_id FROM contacts
        WHERE split_part(phone, '转', 1) = mine.line AND item_id > $1 ORDER BY item_id LIMIT $4
    ) after
), earlier AS MATERIALIZED (
    SELECT DISTINCT item.case_id
    FROM mine, theirs JOIN items item ON item.id = theirs.item_id
    WHERE item.channel <> 'grid' AND item.case_id IS NOT NULL
      AND item.received_at > mine.received_at - $2::interval AND item.received_at < mine.received_at + $2::interval
)
SELECT c.*
FROM earlier CROSS JOIN LATERAL (
    SELECT id, street, locality, locality_level, topic, last_activity, signature_keys, signature_weights,
           signature_facets, signature_buildings, size, anchor_keys, anchor_weights
    FROM cases WHERE id = earlier.case_id AND status = 'open' AND opened_at > $3
    LIMIT 1  -- one row by primary key: planned apart, so it stays a key lookup
) c
ORDER BY c.last_activity DESC, c.id DESC
LIMIT $5
"""

OPEN_CASE = """
INSERT INTO cases (street, locality, topic, opened_at, last_activity, size, max_risk, signature_keys,
                   signature_weights, signature_facets, signature_buildings, anchor_keys, anchor_weights, summary,
                   locality_level)
VALUES ($1, $2, $3, $4, $4, 1, $5, $6, $7, $9, $10, $6, $7, left($8, 80), $11)
RETURNING id
"""

JOIN_CASE = """
UPDATE cases SET
    size = size + 1,
    last_activity = greatest(last_activity, $2),
    opened_at = least(opened_at, $2),
    max_risk = greatest(max_risk, $3),
    street = coalesce(street, $7),
    locality = coalesce(locality, $4),
    locality_level = CASE WHEN locality IS NULL THEN $10 ELSE locality_level END,
    signature_keys = $5,
    signature_weights = $6,
    signature_facets = $8,
    signature_buildings = $9,
    updated_at = now()
WHERE id = $1 AND status = 'open'
RETURNING size
"""

# An open case as `candidate_from_row` reads it, with its opening and highest risk (what a merge carries over).
OPEN_CASE_BY_ID = """
SELECT id, street, locality, locality_level, topic, last_activity, signature_keys, signature_weights,
       signature_facets, signature_buildings, size, opened_at, max_risk
FROM cases WHERE id = $1 AND status = 'open'
"""
# The case as it is now, locked: staff may have merged reports into it, or closed it, since the candidates were read.
LOCK_OPEN_CASE = f"{OPEN_CASE_BY_ID} FOR UPDATE"

SET_ITEM_CASE = "UPDATE items SET case_id = $2, case_score = $3 WHERE id = $1"

COUNT_DAY = """
INSERT INTO place_topic_days (street, topic, day, problems, reports) VALUES ($1, $2, $3, $4, 1)
ON CONFLICT (street, topic, day) DO UPDATE
SET problems = place_topic_days.problems + excluded.problems, reports = place_topic_days.reports + 1
"""

SERIES = """
SELECT day, problems FROM place_topic_days WHERE street = $1 AND topic = $2 AND day > $3 ORDER BY day
"""

FIRST_DAY = "SELECT min(day) FROM place_topic_days"

# A copy of a report (the same text: a letter sent again, a platform's record imported twice, a flood of one text
# with another number in each post) says nothing the first did not. It is one point of a case's risk trend, and
# without a phone one reporter. Both queries tell copies by `items.copy_key` (migration 0060): a 64-bit hash of the
# text's Chinese characters when it has at least 8 of them, else of the text as written (two texts share one by chance
# about once in 10^14 cases among a case's few hundred reports). Not the masked text: residents who sign one letter
# with their own names and phones are as many reporters, though their masked texts read alike (retention leaves the
# masked text only, of reports closed long ago). The key is computed once, when a row is written: dropping
# characters with a regular expression at each judgement of a case of 200 reports of 500 characters took 16 ms,
# against 2.4-3.0 ms hashing the texts as written.
CASE_RISKS = """
SELECT received_at, risk_level FROM (
    SELECT received_at, risk_level, id FROM (
        SELECT DISTINCT ON (item.copy_key) item.received_at, item.risk_level, item.id
        FROM items item WHERE item.case_id = $1 AND item.risk_level IS NOT NULL
        ORDER BY item.copy_key, item.received_at, item.id
    ) firsts
    ORDER BY received_at DESC, id DESC LIMIT $2
) latest ORDER BY received_at, id
"""

# Who sent a report, where the service can tell (`item` and its `contact`, joined by WITH_CONTACT): a resident by
# their phone's line (with or without an extension, `privacy.phone_line`) on the web form or to the hotline (a grid
# worker's phone may be the worker's own); a grid worker by their token (one worker's patrol reports of a lift are one
# reporter, not a crowd); a resident who left no phone by their browser, or their address when they kept no cookie
# (`items.sender_key`). The phone comes first, so that a family or an office behind one address who each leave their
# own are as many reporters. NULL for a call taken without a phone: the operator's token is on every caller's report.
SENDER = """coalesce(
    reporter_phone.line,
    CASE WHEN item.channel = 'grid' AND item.submitted_by IS NOT NULL THEN 'grid:' || item.submitted_by END,
    item.sender_key
)"""
# A phone is no person when it is one of the district's public or office numbers (`public_lines`, which operators may
# type for callers who give none), or when it is a landline whose latest RESIDENT_REPORTS reports (not the grid's) are
# of more than OWN_CASES_MAX problems in more than one street: a switchboard, an estate office. It would make every
# caller it put through one reporter, and a crowd would go unseen: its reports are told by the next signal instead. A
# resident listing what is wrong in their own estate, in one street, stays one reporter (`SENDERS_ALONE`), and so does
# a mobile (`normalize_phone`'s form: digits alone), one person's however much they report: a resident calling about
# everything they see, counted by the next signal, would be a crowd of one. Read by the phone's index, the same lookup
# as OWN_CASES, once per report counted.
WITH_CONTACT = f"""
LEFT JOIN contacts contact
       ON contact.item_id = item.id AND item.channel <> 'grid' AND contact.anonymised_at IS NULL
LEFT JOIN LATERAL (
    SELECT CASE WHEN (count(DISTINCT other.case_id) <= {OWN_CASES_MAX} OR count(DISTINCT other.street) <= 1
                      OR strpos(contact.phone, '-') = 0)
                 AND NOT EXISTS (SELECT 1 FROM public_lines p WHERE p.line = split_part(contact.phone, '转', 1))
                THEN split_part(contact.phone, '转', 1) END AS line
    FROM (
        SELECT item_id FROM contacts
        WHERE split_part(phone, '转', 1) = split_part(contact.phone, '转', 1)
        ORDER BY item_id DESC LIMIT {RESIDENT_REPORTS}
    ) theirs
    JOIN items other ON other.id = theirs.item_id AND other.channel <> 'grid'
) reporter_phone ON true
"""  # noqa: S608 (constants put together)
RECORD_PUBLIC_LINES = """
WITH gone AS (DELETE FROM public_lines WHERE line <> ALL($1::text[]))
INSERT INTO public_lines (line) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING
"""


async def record_public_lines(conn: Any, phones: frozenset[str]) -> None:
    """Make `public_lines` the lines of these numbers (`privacy.public_phones`' form): the settings of the worker that
    starts, which every worker of a district shares."""
    await conn.execute(RECORD_PUBLIC_LINES, public_lines(phones))


# Reporters: one sender however often they report (one person sending a complaint again in other words, under new
# Idempotency-Keys, is one reporter), and a report whose sender is not known as one of its own but its copies.
CASE_FACTS = f"""
SELECT count(*) AS reports,
       count(DISTINCT coalesce({SENDER}, 'copy:' || item.copy_key)) AS reporters,
       count(DISTINCT item.channel) AS channels, min(item.received_at) AS first, max(item.received_at) AS last,
       max(item.risk_level) AS max_risk, (SELECT street FROM cases WHERE id = $1) AS street,
       (SELECT topic FROM cases WHERE id = $1) AS topic
FROM items item {WITH_CONTACT}
WHERE item.case_id = $1
"""  # noqa: S608 (constants put together)

# Of the problems a burst counts (cases of the street and topic opened in its window's days, $3 to $4), those only grid
# workers reported, and how many workers (a patrol, alone or in pairs, files a dozen different problems of one place
# in a day), and the most that one other sender alone reported (a resident writing about each thing wrong in their
# estate). Senders are compared in the database, and only counts leave it.
SENDERS_ALONE = f"""
WITH reports AS (
    SELECT item.case_id, {SENDER} AS sender
    FROM items item JOIN cases c ON c.id = item.case_id AND c.opened_at >= $3 {WITH_CONTACT}
    WHERE item.street = $1 AND item.topic = $2 AND item.received_at >= $3 AND item.received_at < $4
), problems AS (
    SELECT case_id, min(sender) AS sender FROM reports
    GROUP BY case_id
    HAVING count(DISTINCT sender) = 1 AND bool_and(sender IS NOT NULL)
), senders AS (
    SELECT sender LIKE 'grid:%' AS grid, count(*) AS problems FROM problems GROUP BY sender
)
SELECT count(*) FILTER (WHERE grid) AS grid_workers,
       coalesce(sum(problems) FILTER (WHERE grid), 0)::int AS patrol,
       coalesce(max(problems) FILTER (WHERE NOT grid), 0)::int AS one_reporter
FROM senders
"""  # noqa: S608 (constants put together)

# One active hotspot per kind and place-topic or case: a new verdict updates its numbers.
# A burst's numbers are as of its latest verdict (`why.as_of`): a report filed late, of days ago, judges those days,
# and neither ends the burst nor replaces its numbers.
# The highest score of the kind's recent dismissals for a case ($2), or for a street and topic ($3, $4).
DISMISSED_CASE_SCORE = """
SELECT max(score) FROM hotspots
WHERE status = 'dismissed' AND case_id = $2 AND kind = $1 AND ended_at > now() - $3::interval
  AND NOT EXISTS (SELECT 1 FROM hotspots a WHERE a.status = 'active' AND a.case_id = $2 AND a.kind = $1)
"""
DISMISSED_AREA_SCORE = """
SELECT max(score) FROM hotspots
WHERE status = 'dismissed' AND case_id IS NULL AND street = $2 AND topic = $3 AND kind = $1
  AND ended_at > now() - $4::interval
  AND NOT EXISTS (
      SELECT 1 FROM hotspots a
      WHERE a.status = 'active' AND a.case_id IS NULL AND a.street = $2 AND a.topic = $3 AND a.kind = $1
  )
"""

UPSERT_BURST = """
INSERT INTO hotspots (kind, street, topic, why, score) VALUES ('burst', $1, $2, $3, $4)
ON CONFLICT (street, topic) WHERE status = 'active' AND kind = 'burst'
DO UPDATE SET why = excluded.why, score = excluded.score, updated_at = now()
WHERE coalesce((hotspots.why->>'as_of')::timestamptz, '-infinity') <= (excluded.why->>'as_of')::timestamptz
RETURNING id
"""

UPSERT_CASE_HOTSPOT = """
INSERT INTO hotspots (kind, street, topic, case_id, why, score) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (case_id, kind) WHERE status = 'active' AND kind <> 'burst'
DO UPDATE SET why = excluded.why, score = excluded.score, street = excluded.street, topic = excluded.topic,
    updated_at = now()
RETURNING id
"""

UPSERT_AREA_ESCALATION = """
INSERT INTO hotspots (kind, street, topic, why, score) VALUES ('escalation', $1, $2, $3, $4)
ON CONFLICT (street, topic) WHERE status = 'active' AND kind = 'escalation' AND case_id IS NULL
DO UPDATE SET why = excluded.why, score = excluded.score, updated_at = now()
RETURNING id
"""

# The area's latest assessed reports from the start of the escalation window on, oldest first. No upper bound: a
# worker placing an earlier report must also see later ones another worker committed first, or an area whose
# reports were split between two batches would never be judged whole. Placed reports only (a case of their own):
# the reports of the batch being placed are classified, but not placed yet, and a verdict that read them would
# depend on where the worker's batch happened to end. Reports of one time in id order, as they are placed.
AREA_RISKS = """
SELECT received_at, risk_level, case_id FROM (
    SELECT received_at, risk_level, case_id, id FROM items
    WHERE street = $1 AND topic = $2 AND risk_level IS NOT NULL AND received_at > $3 AND case_id IS NOT NULL
    ORDER BY received_at DESC, id DESC LIMIT $4
) latest ORDER BY received_at, id
"""

# The reporters of the reports AREA_RISKS reads, counted as a case's are (CASE_FACTS): one person's letters about
# five sites, angrier each time, are one reporter's.
AREA_REPORTERS = f"""
SELECT count(DISTINCT coalesce({SENDER}, 'copy:' || item.copy_key)) FROM (
    SELECT id, channel, submitted_by, sender_key, copy_key FROM items
    WHERE street = $1 AND topic = $2 AND risk_level IS NOT NULL AND received_at > $3 AND case_id IS NOT NULL
    ORDER BY received_at DESC, id DESC LIMIT $4
) item {WITH_CONTACT}
"""  # noqa: S608 (constants put together)

# A placed warning or threat of the area received from $3 on and within its window of $3 (AREA_WINDOW, $4).
WARNED_AFTER = """
SELECT EXISTS (
    SELECT 1 FROM items
    WHERE street = $1 AND topic = $2 AND received_at >= $3 AND received_at < $3 + $4 AND risk_level >= 2
      AND case_id IS NOT NULL
)
"""

# The placed reports an area's rise lifts (as AREA_RISKS reads them).
AREA_MEMBERS = """
SELECT id FROM items
WHERE street = $1 AND topic = $2 AND received_at > $3 AND risk_level >= 2 AND status <> 'closed'
  AND case_id IS NOT NULL
"""

BURST_AS_OF = """
SELECT (why->>'as_of')::timestamptz FROM hotspots
WHERE kind = 'burst' AND status = 'active' AND street = $1 AND topic = $2
"""

END_BURST = """
UPDATE hotspots SET status = 'ended', ended_at = now(), updated_at = now()
WHERE kind = 'burst' AND status = 'active' AND street = $1 AND topic = $2
  AND coalesce((why->>'as_of')::timestamptz, '-infinity') <= $3
RETURNING id
"""

# Items of a hotspot rank one step higher in the feed (items.priority follows hotspot_id). The lift is a hint, so an
# item staff hold (closing its case, moving it) is passed over rather than waited for: staff lock items before
# cases, the tracker cases before items, and waiting here would deadlock the two.
LIFT = """
UPDATE items SET hotspot_id = $1
WHERE id IN (
    SELECT id FROM items
    WHERE id = ANY($2::bigint[]) AND status <> 'closed' AND hotspot_id IS DISTINCT FROM $1
    FOR UPDATE SKIP LOCKED
)
"""

# Dropping a lift is a hint too: an item another transaction holds keeps it until the hourly review (STALE_LIFTS).
DROP_LIFT = """
UPDATE items SET hotspot_id = NULL
WHERE id IN (SELECT id FROM items WHERE hotspot_id = ANY($1::bigint[]) FOR UPDATE SKIP LOCKED)
RETURNING id
"""

# An item carries one lift but may belong to several hotspots: one whose lift was dropped takes that of another
# active hotspot it belongs to (its case's; a burst of its street x topic over the burst's window; an area escalation
# over its window, warnings and above), an escalation first. Only items the dropping transaction holds ($1).
RELIFT = """
UPDATE items i SET hotspot_id = pick.hotspot_id
FROM (
    SELECT item.id AS item_id, h.id AS hotspot_id
    FROM items item CROSS JOIN LATERAL (
        -- One branch per kind, each read by its partial unique index of active hotspots: an OR of the three in
        -- one join reads every hotspot ever stored and compares each item with every active one.
        SELECT h.id FROM (
            SELECT h.id, h.kind, true AS of_case FROM hotspots h
            WHERE h.status = 'active' AND h.kind <> 'burst' AND h.case_id = item.case_id
            UNION ALL
            SELECT h.id, h.kind, false FROM hotspots h
            WHERE h.status = 'active' AND h.kind = 'burst' AND h.street = item.street AND h.topic = item.topic
              AND NOT h.why ? 'set_aside'  -- a burst of patrols or of one resident lifts nothing (`_check_burst`)
              AND item.received_at >= coalesce((h.why->>'since')::timestamptz,
                                                (h.why->>'as_of')::timestamptz - make_interval(hours => $2))
              AND (item.received_at <= (h.why->>'as_of')::timestamptz
                   OR item.received_at < (h.why->>'until')::timestamptz)
            UNION ALL
            SELECT h.id, h.kind, false FROM hotspots h
            WHERE h.status = 'active' AND h.kind = 'escalation' AND h.case_id IS NULL
              AND h.street = item.street AND h.topic = item.topic
              AND item.risk_level >= 2
              AND item.received_at > coalesce((h.why->>'since')::timestamptz, h.updated_at - $3::interval)
        ) h
        ORDER BY h.kind = 'escalation' DESC, h.of_case DESC, h.id
        LIMIT 1
    ) h
    WHERE item.id = ANY($1::bigint[]) AND item.status <> 'closed'
) pick
WHERE i.id = pick.item_id
"""

# The items a hotspot lifts that its latest verdict no longer counts, a hint as LIFT is.
DROP_FORMER_MEMBERS = """
UPDATE items SET hotspot_id = NULL
WHERE id IN (
    SELECT id FROM items
    WHERE hotspot_id = $1 AND status <> 'closed' AND NOT (id = ANY($2::bigint[]))
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""

STALE_LIFTS = """
UPDATE items SET hotspot_id = NULL
WHERE id IN (
    SELECT item.id FROM items item JOIN hotspots h ON h.id = item.hotspot_id
    WHERE h.status <> 'active'
    FOR UPDATE OF item SKIP LOCKED
)
RETURNING id
"""

# The placed reports a burst lists and lifts: those of the problems its counts hold (`COUNT_DAY`, as placed).
BURST_MEMBERS = """
SELECT id FROM items
WHERE street = $1 AND topic = $2 AND received_at >= $3 AND received_at < $4 AND status <> 'closed'
  AND case_id IS NOT NULL
"""

CASE_MEMBERS = "SELECT id FROM items WHERE case_id = $1 AND status <> 'closed'"


PRIOR = "SELECT rate, days FROM district_prior WHERE id = 1"

SAVE_PRIOR = """
INSERT INTO district_prior (id, rate, days) VALUES (1, $1, $2)
ON CONFLICT (id) DO UPDATE SET rate = excluded.rate, days = excluded.days, updated_at = now()
"""

# Every street × topic's distinct problems over the baseline, zeros included (the cross join), for the prior.
SERIES_TOTALS = """
WITH streets AS (SELECT DISTINCT street FROM place_topic_days),
     topics AS (SELECT DISTINCT topic FROM place_topic_days)
SELECT coalesce(sum(d.problems), 0) AS total
FROM streets s CROSS JOIN topics t
LEFT JOIN place_topic_days d ON d.street = s.street AND d.topic = t.topic AND d.day > $1
GROUP BY s.street, t.topic
"""


async def district_prior(conn: Any) -> DistrictPrior:
    row = await conn.fetchrow(PRIOR)
    return DEFAULT_PRIOR if row is None else DistrictPrior(rate=row["rate"], days=row["days"])


async def refit_prior(conn: Any, *, days: int = 28) -> DistrictPrior:
    """Refit the district-wide prior from the last `days` days of counts (hourly, by a worker)."""
    today = datetime.now(UTC).astimezone(DISTRICT_ZONE).date()
    first: date | None = await conn.fetchval(FIRST_DAY)
    if first is None:
        return DEFAULT_PRIOR
    span = min(days, (today - first).days + 1)
    totals = [r["total"] for r in await conn.fetch(SERIES_TOTALS, today - timedelta(days=span))]
    prior = fit_prior(totals, float(span))
    await conn.execute(SAVE_PRIOR, prior.rate, prior.days)
    return prior


def candidate_from_row(row: Any) -> CaseCandidate:
    return CaseCandidate(
        id=row["id"],
        street=row["street"],
        locality=row["locality"],
        topic=row["topic"],
        last_activity=row["last_activity"],
        signature=Signature(
            keys=list(row["signature_keys"]),
            weights=list(row["signature_weights"]),
            facets=list(row["signature_facets"]),
            buildings=list(row["signature_buildings"]),
        ),
        size=row["size"],
        locality_level=row["locality_level"],
    )


async def track(conn: Any, items: Sequence[Placed], *, prior: DistrictPrior = DEFAULT_PRIOR) -> None:
    """Place each item in a case, count it, and update the hotspots it touches. Call inside a transaction.

    The items are placed one at a time in (received_at, id) order, each as it would be placed on its own, so that the
    cases and hotspots the same reports make do not depend on how a worker batched them: whatever the batch's size,
    where it happened to end (the sweeper's deadline, the jobs that ran together) or the order its items were
    claimed in. Reports of one time are placed in id order, the order intake stored them in."""
    # Reports of one street are placed one at a time across workers: two reports of a new problem arriving together
    # must not open two cases. Locks are taken in one order, so workers never deadlock.
    # (A report with a street may also join a case whose street nobody has named yet, under that case's own row
    # lock, which `_join` takes before it reads the case. Not taking the street-less lock as well keeps workers of
    # different streets from waiting on each other.)
    await lock_streets(conn, [item.street for item in items])
    for item in sorted(items, key=placing_order):
        await _track_one(conn, item, prior)


class Received(Protocol):
    """A report as far as its place in the order goes: a placed one, or one claimed for classifying."""

    @property
    def id(self) -> int: ...

    @property
    def received_at(self) -> datetime: ...


def placing_order(item: Received) -> tuple[datetime, int]:
    """The order a batch's reports are placed in: by time, and reports of one time by id."""
    return item.received_at, item.id


async def _track_one(conn: Any, item: Placed, prior: DistrictPrior) -> None:
    """Place one report, count it and judge what it touches, reading only reports placed before it (and, from other
    workers, any placed since: AREA_RISKS)."""
    case_id, new_problem, size = await _place(conn, item)
    if item.street is not None:
        day = item.received_at.astimezone(DISTRICT_ZONE).date()
        await conn.execute(COUNT_DAY, item.street, item.topic, day, 1 if new_problem else 0)
        # Another report of a problem a current burst counts is judged with it too: the burst's members run up to
        # its verdict, and the report is one of them, listed and lifted, once the verdict takes it in.
        if new_problem:
            await _check_burst(conn, item.street, item.topic, prior, at=item.received_at)
        elif (as_of := await conn.fetchval(BURST_AS_OF, item.street, item.topic)) is not None:
            await _judge_burst(conn, item.street, item.topic, prior, at=item.received_at, judged=as_of)
    if size >= 3:
        await judge_case(conn, case_id, item.street, item.topic)
    if item.street is None:
        return
    if item.risk_level >= 2:
        await _check_area(conn, item)
    elif await conn.fetchval(WARNED_AFTER, item.street, item.topic, item.received_at, AREA_WINDOW):
        # A report below risk 2 judges its area only when a warning or threat received after it, within its window,
        # was placed before it (by another worker's batch, or a grid worker's reports synced late): it may be one of
        # the complaints a rise starts from, and no later report would judge the area whole.
        await _check_area(conn, item)
    # A report that joined or absorbed a case may have made one case of an area's rise.
    await rejudge_area(conn, item.street, item.topic, levels_changed=False)


async def _place(conn: Any, item: Placed) -> tuple[int, bool, int]:
    """(case id, whether the item opened it, the case's size now)."""
    since = item.received_at - CASE_WINDOW
    born_after = item.received_at - CASE_LIFETIME
    if item.street is None:
        rows = await conn.fetch(CANDIDATE_CASES_NO_STREET, item.topic, since, CANDIDATES, born_after)
    else:
        rows = await conn.fetch(CANDIDATE_CASES, item.street, since, CANDIDATES, born_after)
    own_rows = (
        await conn.fetch(OWN_CASES, item.id, CASE_LIFETIME, born_after, RESIDENT_REPORTS, OWN_CASES_MAX + 1)
        if item.resident_phone
        else []
    )
    # More open cases than a resident has: a phone many share (a switchboard, a committee's landline, a placeholder
    # an operator typed), which says nothing of who reported what.
    if len(own_rows) > OWN_CASES_MAX:
        own_rows = []
    own = {row["id"]: candidate_from_row(row) for row in own_rows}
    report = Report(
        signature=item.signature,
        street=item.street,
        locality=item.locality,
        topic=item.topic,
        at=item.received_at,
        locality_level=item.locality_level,
        says_follow_up=says_follow_up(item.text),
        says_unresolved=says_unresolved(item.text),
    )
    quiet_rows = (
        await conn.fetch(
            QUIET_CASES, item.street, since, born_after, item.topic, same_place_names(item.locality), QUIET_CASES_READ
        )
        if report.says_unresolved and item.street is not None and item.locality is not None
        else []
    )
    quiet = {row["id"]: candidate_from_row(row) for row in quiet_rows}
    candidates = {row["id"]: candidate_from_row(row) for row in rows}
    anchors = {
        row["id"]: Signature(keys=list(row["anchor_keys"]), weights=list(row["anchor_weights"]))
        for row in [*rows, *own_rows, *quiet_rows]
    }
    excluded: set[int] = set()  # cases a long letter matched only by their mean (`cases.needs_a_member`)
    best: Match | None = None
    matches: list[Match] = []
    for _ in range(MEMBER_TRIES):
        best, matches = choose_case(
            report,
            list(candidates.values()),
            lambda case_id: case_id not in excluded and similarity(item.signature, anchors[case_id]) >= ANCHOR_FLOOR,
            window=CASE_WINDOW,
            own=list(own.values()),
            quiet=list(quiet.values()),
        )
        if best is None:
            break
        chosen = candidates.get(best.case_id) or own.get(best.case_id) or quiet[best.case_id]
        if await _may_take(conn, item, chosen, own):
            break
        excluded.add(chosen.id)  # the next choice's matches leave it out too (`eligible`)
        best = None
    if best is not None:
        joined = await _join(conn, item, chosen, best.score)
        # None: another worker closed the case in the meantime (absorbed it, or staff merged it away)
        if joined is not None:
            # Only a report that names its street may show two cases to be one: without a place, resemblance alone
            # chains unrelated problems together.
            absorbed = cases_to_absorb(joined, matches, candidates) if item.street is not None else []
            if absorbed:
                from suggestions.hotspots.editing import absorb

                for other in absorbed:
                    # Showing two cases to be one asks what joining asks: a case of long letters only by one of them.
                    if await _may_take(conn, item, candidates[other], own):
                        joined = await absorb(conn, into=joined, other=candidates[other])
            return joined.id, False, joined.size
    case_id = await conn.fetchval(
        OPEN_CASE,
        item.street,
        item.locality,
        item.topic,
        item.received_at,
        item.risk_level,
        item.signature.keys,
        item.signature.weights,
        item.text,
        item.signature.facets,
        item.signature.buildings,
        item.locality_level,
    )
    await conn.execute(SET_ITEM_CASE, item.id, case_id, None)
    return case_id, True, 1


async def _may_take(conn: Any, item: Placed, case: CaseCandidate, own: Mapping[int, CaseCandidate]) -> bool:
    """Whether the item may join (or absorb) the case as far as `cases.needs_a_member` goes: a short report, a case of
    one report or the resident's own case may; a long letter may join a case only when it resembles one of the case's
    latest MEMBERS_READ reports at the case's `cases.member_floor`, not only their mean."""
    if case.id in own or not needs_a_member(item.text, case.size):
        return True
    rows = await conn.fetch(MEMBER_TEXTS, case.id, item.id, MEMBERS_READ)
    members = (signature(row["text_masked"], places=(row["street"], row["locality"])) for row in rows)
    return resembles_a_member(item.signature, members, floor=member_floor([row["text_masked"] for row in rows]))


async def _join(conn: Any, item: Placed, case: CaseCandidate, score: float) -> CaseCandidate | None:
    """The case once the item has joined it, or None when the case is no longer open."""
    row = await conn.fetchrow(LOCK_OPEN_CASE, case.id)
    if row is None:
        return None
    case = candidate_from_row(row)
    merged = merge_signature(case.signature, item.signature, case.size)
    size: int | None = await conn.fetchval(
        JOIN_CASE,
        case.id,
        item.received_at,
        item.risk_level,
        item.locality,
        merged.keys,
        merged.weights,
        item.street,
        merged.facets,
        merged.buildings,
        item.locality_level,
    )
    if size is None:
        return None
    await conn.execute(SET_ITEM_CASE, item.id, case.id, round(score, 4))
    # The case as JOIN_CASE left it: a case nobody had placed learns the report's street and locality.
    return msgspec.structs.replace(
        case,
        street=item.street if case.street is None else case.street,
        locality=item.locality if case.locality is None else case.locality,
        locality_level=item.locality_level if case.locality is None else case.locality_level,
        signature=merged,
        size=size,
    )


RETOPIC_ITEM = """
SELECT item.street, item.received_at, item.case_id, c.street AS case_street
FROM items item LEFT JOIN cases c ON c.id = item.case_id
WHERE item.id = $1
"""
# A case the item holds alone (a case merged away has size 0), with what its problem was counted under.
LOCK_CASE_ALONE = "SELECT street, topic, opened_at FROM cases WHERE id = $1 AND size = 1 FOR UPDATE"
# A count moves only if it is there to move: a count never made (an item placed before corrections were counted)
# is not invented under the new topic.
TAKE_COUNT = """
UPDATE place_topic_days SET problems = problems - $4, reports = reports - $5
WHERE street = $1 AND topic = $2 AND day = $3 AND problems >= $4 AND reports >= $5
RETURNING 1
"""
ADD_COUNT = """
INSERT INTO place_topic_days (street, topic, day, problems, reports) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (street, topic, day) DO UPDATE
SET problems = place_topic_days.problems + excluded.problems, reports = place_topic_days.reports + excluded.reports
"""


CASE_MAX_RISK = """
UPDATE cases c SET max_risk = (SELECT max(risk_level) FROM items WHERE case_id = c.id), updated_at = now()
FROM items item WHERE item.id = $1 AND c.id = item.case_id AND c.status = 'open'
"""


async def refresh_case_risk(conn: Any, item_id: int) -> None:
    """The open case of an item whose risk level changed shows its highest level again."""
    await conn.execute(CASE_MAX_RISK, item_id)


ITEM_PLACED = "SELECT case_id, street, topic, risk_level, received_at FROM items WHERE id = $1"
LOCK_CASE_ROW = "SELECT id FROM cases WHERE id = $1 FOR UPDATE"
CLEAR_LIFT = "UPDATE items SET hotspot_id = NULL WHERE id = $1 AND hotspot_id IS NOT NULL"


async def reassess(conn: Any, item_id: int, former_topic: str | None = None) -> None:
    """A placed report whose topic or risk level changed (a staff correction, a newly promoted model): its case's
    hotspots are judged again with the levels as they are now (an escalation the correction undid ends), and so is
    the rise of its area under its topic and its former one (`rejudge_area`). The report then takes the lift of the
    hotspots it belongs to now (a burst of its former topic lists it no more; an area's rise lists it once it is a
    warning). Call in the transaction that changed it, the item locked."""
    row = await conn.fetchrow(ITEM_PLACED, item_id)
    if row["street"] is not None:
        await lock_streets(conn, [row["street"]])  # as the tracker locks: the report, its street, then its case
    if row["case_id"] is not None:
        await conn.execute(LOCK_CASE_ROW, row["case_id"])
        await rejudge_case(conn, row["case_id"])
    if row["street"] is not None:
        for topic in dict.fromkeys(t for t in (row["topic"], former_topic) if t is not None):
            judged = await rejudge_area(conn, row["street"], topic)
            # A report corrected up to a warning may start its area's rise, as it would have when placed.
            if not judged and topic == row["topic"] and row["risk_level"] is not None and row["risk_level"] >= 2:
                await check_area(conn, row["street"], topic, row["received_at"])
    await conn.execute(CLEAR_LIFT, item_id)
    await relift(conn, [item_id])


async def lock_streets(conn: Any, streets: Iterable[str | None]) -> None:
    """One transaction at a time places reports of a street and moves its counts; the locks are taken in one order,
    so two transactions never wait on each other's. Reports of no street take the lock of the empty name."""
    for street in sorted({street or "" for street in streets}):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('case:' || $1, 0))", street)


async def retopic(conn: Any, item_id: int, old: str, new: str) -> None:
    """Count a placed item under its new topic (a staff correction, a newly promoted model), so that bursts read what
    staff see. Its report moves to the new topic's day; a case it holds alone follows it, with its problem (counted
    under the case's own street, topic and day). A case of several reports keeps its topic: it is its first report's,
    and the others were matched against it. Call inside the transaction that changed the topic."""
    if old == new:
        return
    row = await conn.fetchrow(RETOPIC_ITEM, item_id)
    if row is None or row["street"] is None:
        return
    await lock_streets(conn, [row["street"], row["case_street"]])
    day = row["received_at"].astimezone(DISTRICT_ZONE).date()
    moves = [(row["street"], old, day, 0, 1)]
    case = await conn.fetchrow(LOCK_CASE_ALONE, row["case_id"]) if row["case_id"] is not None else None
    counted: tuple[str, str] | None = None  # where the case's problem was counted: its street and topic
    if case is not None:
        await conn.execute("UPDATE cases SET topic = $2, updated_at = now() WHERE id = $1", row["case_id"], new)
        if case["street"] is not None and case["topic"] is not None:
            counted = (case["street"], case["topic"])
            moves.append((*counted, case["opened_at"].astimezone(DISTRICT_ZONE).date(), 1, 0))
    for street, topic, when, problems, reports in sorted(moves):
        if await conn.fetchval(TAKE_COUNT, street, topic, when, problems, reports):
            await conn.execute(ADD_COUNT, street, new, when, problems, reports)
    if counted is not None:
        prior = await district_prior(conn)
        for topic in sorted({counted[1], new}):
            await _check_burst(conn, counted[0], topic, prior, at=datetime.now(UTC))


async def _check_burst(conn: Any, street: str, topic: str, prior: DistrictPrior, *, at: datetime) -> None:
    """Judge the street × topic as of `at`: now for live items and reviews, the item's own time for history imports;
    but never as of a time before an active burst's latest verdict. A report filed late (of days ago) is counted in
    its day, and the burst judged as of that verdict: judged as of the report's time, it ended a burst that is hot
    now, or replaced its numbers with a count that leaves the newer reports out."""
    judged: datetime | None = await conn.fetchval(BURST_AS_OF, street, topic)
    await _judge_burst(conn, street, topic, prior, at=at, judged=judged)


async def _judge_burst(
    conn: Any, street: str, topic: str, prior: DistrictPrior, *, at: datetime, judged: datetime | None
) -> None:
    """`_check_burst` with the active burst's latest verdict (BURST_AS_OF) already read."""
    if judged is not None and judged > at:
        at = judged
    local = at.astimezone(DISTRICT_ZONE)
    today = local.date()
    rows = await conn.fetch(SERIES, street, topic, today - timedelta(days=SERIES_DAYS))
    history_start: date | None = await conn.fetchval(FIRST_DAY)

    days = [DayCount(day=r["day"], count=r["problems"]) for r in rows]

    def verdict_of(set_aside: int = 0) -> BurstVerdict:
        return burst(
            days,
            today,
            now_fraction=(local.hour * 3600 + local.minute * 60 + local.second) / 86400,
            history_start=history_start,
            prior=prior,
            set_aside=set_aside,
        )

    verdict = verdict_of()
    if not verdict.hot:
        ended = [r["id"] for r in await conn.fetch(END_BURST, street, topic, at)]
        if ended:
            await drop_lift(conn, ended)
        return
    # The window counts every district day that touches the last 72 hours (`bursts.burst`): its members and lift
    # run from the first of those days' start, so that the reports listed are those of the problems counted.
    # Judged before the day is over (now_fraction < 1), the window starts `window_days` days before today.
    since = datetime.combine(today - timedelta(days=verdict.window_days), time(), tzinfo=DISTRICT_ZONE)
    # And to the end of the verdict's day, which it counts whole: reports of the afternoon entered before the
    # morning's, which a verdict as of a morning report counts, are listed and lifted with them.
    until = datetime.combine(today + timedelta(days=1), time(), tzinfo=DISTRICT_ZONE)
    why = {
        "as_of": at.isoformat(),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "problems": verdict.observed,
        "expected": round(verdict.expected, 2),
        "window_days": verdict.window_days,
        "baseline_days": verdict.baseline_days,
        "p_value": float(f"{verdict.score:.2g}"),
    }
    score = verdict.observed / max(verdict.expected, 0.1)
    if await dismissed(conn, "burst", score, street=street, topic=topic):
        return
    # A burst that is none without grid workers' patrols, or without one resident's list of what is wrong in their
    # estate, is no burst of residents' concern: it is listed, said to be theirs, and lifts nothing.
    senders = await conn.fetchrow(SENDERS_ALONE, street, topic, since, until)
    # One problem of a resident's own is any resident's.
    one_reporter = senders["one_reporter"] if senders["one_reporter"] > 1 else 0
    set_aside = senders["patrol"] + one_reporter
    alone = set_aside > 0 and not verdict_of(set_aside=set_aside).hot
    if alone:
        why["set_aside"] = {
            "grid_workers": senders["grid_workers"],
            "patrol": senders["patrol"],
            "one_reporter": one_reporter,
        }
    hotspot_id = await conn.fetchval(UPSERT_BURST, street, topic, why, score)
    if hotspot_id is None:
        return  # a later verdict stands
    members = [] if alone else [r["id"] for r in await conn.fetch(BURST_MEMBERS, street, topic, since, until)]
    await lift_members(conn, hotspot_id, members)


async def _check_area(conn: Any, item: Placed) -> None:
    """An area whose reports turn from complaints to warnings and threats, across cases (a wage dispute spreading
    from one site to several, say): judged when a report of risk 2 or more is placed, or one of lower risk placed
    after a warning received later (`track`)."""
    assert item.street is not None
    await check_area(conn, item.street, item.topic, item.received_at)


async def check_area(conn: Any, street: str, topic: str, at: datetime) -> None:
    """Raise or update the area's rise over the window of a report received `at`: its two weeks before, and every
    report since."""
    since = at - AREA_WINDOW
    rows = await conn.fetch(AREA_RISKS, street, topic, since, ESCALATION_POINTS)
    trend = escalation([RiskPoint(at=r["received_at"], risk_level=r["risk_level"]) for r in rows])
    if not _area_rises(rows, trend):
        return
    if await dismissed(conn, "escalation", float(trend.last_level), street=street, topic=topic):
        return
    why = await _area_why(conn, street, topic, rows, trend, since)
    hotspot_id = await conn.fetchval(UPSERT_AREA_ESCALATION, street, topic, why, float(trend.last_level))
    members = [r["id"] for r in await conn.fetch(AREA_MEMBERS, street, topic, since)]
    await lift_members(conn, hotspot_id, members)


def _area_rises(rows: Sequence[Any], trend: Escalation) -> bool:
    """An area rises when it went from ordinary complaints (0-1) to warnings or threats: a street whose reports are
    already warnings moving to urgent is each report's own risk, already at the top of the feed. Reports of one case
    are that case's escalation (`judge_case`), listed once, and dismissed once."""
    if not trend.rising or trend.first_level > 1 or trend.last_level < 2 or len(rows) < AREA_MIN_REPORTS:
        return False
    return _cases(rows) >= 2


def _cases(rows: Sequence[Any]) -> int:
    return len({r["case_id"] for r in rows if r["case_id"] is not None})


async def _area_why(
    conn: Any, street: str, topic: str, rows: Sequence[Any], trend: Escalation, since: datetime
) -> dict[str, Any]:
    return {
        "reports": len(rows),
        "reporters": await conn.fetchval(AREA_REPORTERS, street, topic, since, ESCALATION_POINTS),
        # Those its members list and its lift raises (`views.AREA_HOTSPOT_MEMBERS`, AREA_MEMBERS): staff read how many
        # of the reports counted are below.
        "warnings": sum(1 for r in rows if r["risk_level"] >= 2),
        "first_level": trend.first_level,
        "last_level": trend.last_level,
        "slope_per_day": round(trend.slope_per_day, 2) if trend.span_days >= 1 / 24 else None,
        "span_days": round(trend.span_days, 1),
        "span_hours": round(trend.span_days * 24, 1),
        "since": since.isoformat(),  # where its window starts: its members and lift are counted from here
    }


ACTIVE_AREA_ESCALATION = """
SELECT id, why FROM hotspots
WHERE kind = 'escalation' AND case_id IS NULL AND status = 'active' AND street = $1 AND topic = $2
"""
END_HOTSPOT = "UPDATE hotspots SET status = 'ended', ended_at = now(), updated_at = now() WHERE id = $1"
UPDATE_AREA_WHY = "UPDATE hotspots SET why = $2, score = $3, updated_at = now() WHERE id = $1"


async def rejudge_area(conn: Any, street: str, topic: str, *, levels_changed: bool = True) -> bool:
    """An area's rise judged again over the window its verdict counted (`why.since`), two weeks up to its latest
    report at most: after a report of it changed level or topic, or once a report of it is placed (its reports may
    have joined one case since). One still rising shows its numbers as they are now. One whose reports are now one
    case is that case's escalation only, and ends at once, its lift dropped; so does one a change of levels undid.
    One that merely calmed down ends after a quiet week (`review_hotspots`): a calm report or two between warnings is
    no end of a dispute, while a correction says the levels were wrong. An escalation raised before its window was
    stored is left to its next report. Whether the area had a rise standing to judge."""
    row = await conn.fetchrow(ACTIVE_AREA_ESCALATION, street, topic)
    if row is None:
        return False
    if "since" not in row["why"]:
        return True
    since = datetime.fromisoformat(row["why"]["since"])
    rows = await conn.fetch(AREA_RISKS, street, topic, since, ESCALATION_POINTS)
    moved = bool(rows) and rows[-1]["received_at"] - AREA_WINDOW > since
    if moved:
        # Two weeks up to its latest report at most, as `check_area` judges: judged from the rise's start on, a street
        # that stayed at warnings rose for ever over a window that grew with every report ("历时 258 天"), and each
        # warning since was lifted. One the moved window no longer shows rising is left to calm down: the reports
        # its verdict counted stand.
        since = rows[-1]["received_at"] - AREA_WINDOW
        rows = [r for r in rows if r["received_at"] > since]
    trend = escalation([RiskPoint(at=r["received_at"], risk_level=r["risk_level"]) for r in rows])
    if _area_rises(rows, trend):
        await conn.execute(
            UPDATE_AREA_WHY,
            row["id"],
            await _area_why(conn, street, topic, rows, trend, since),
            float(trend.last_level),
        )
    elif levels_changed or (not moved and _cases(rows) < 2):
        await conn.execute(END_HOTSPOT, row["id"])
        await drop_lift(conn, [row["id"]])
    return True


CASE_TO_JUDGE = "SELECT street, topic, status, size FROM cases WHERE id = $1"
CASE_HOTSPOT_KINDS = ("case", "escalation")  # a case's own hotspots: many reporters, a rising risk


async def drop_lift(conn: Any, hotspot_ids: list[int]) -> None:
    """Take the lift of hotspots that ended or were dismissed off their items; an item still in another active
    hotspot takes that one's (`RELIFT`)."""
    await relift(conn, [r["id"] for r in await conn.fetch(DROP_LIFT, hotspot_ids)])


async def lift_members(conn: Any, hotspot_id: int, members: list[int]) -> None:
    """Lift an area's hotspot's members, and only them: a verdict moves its window on (a burst's 72 hours, an area's
    two weeks), and the reports it leaves behind are no longer listed with it. They take the lift of another active
    hotspot they belong to, if any (`RELIFT`)."""
    await relift(conn, [r["id"] for r in await conn.fetch(DROP_FORMER_MEMBERS, hotspot_id, members)])
    await conn.execute(LIFT, hotspot_id, members)


async def relift(conn: Any, item_ids: list[int]) -> None:
    """Items whose lift was dropped take that of another active hotspot they belong to (`RELIFT`); the caller holds
    their rows."""
    if item_ids:
        await conn.execute(RELIFT, item_ids, BURST_WINDOW_HOURS, AREA_WINDOW)


async def dismissed(
    conn: Any,
    kind: str,
    score: float,
    *,
    case_id: int | None = None,
    street: str | None = None,
    topic: str | None = None,
) -> bool:
    """Whether staff dismissed this hotspot lately at a score the new one does not outgrow (`DISMISSAL_HOLDS`)."""
    if case_id is not None:
        held = await conn.fetchval(DISMISSED_CASE_SCORE, kind, case_id, DISMISSAL_HOLDS)
    else:
        held = await conn.fetchval(DISMISSED_AREA_SCORE, kind, street, topic, DISMISSAL_HOLDS)
    if held is None:
        return False
    return bool(score <= held * (1 if kind == "escalation" else RAISED_AGAIN))


async def rejudge_case(conn: Any, case_id: int) -> None:
    """Judge a case's hotspots again after staff moved reports into or out of it, or merged it: their numbers follow
    its reports, and a case that no longer qualifies ends its hotspot."""
    case = await conn.fetchrow(CASE_TO_JUDGE, case_id)
    if case is None or case["status"] != "open" or case["size"] == 0:
        await end_case_hotspots(conn, case_id)
        return
    await judge_case(conn, case_id, case["street"], case["topic"])


async def end_case_hotspots(conn: Any, case_id: int, kinds: Sequence[str] = CASE_HOTSPOT_KINDS) -> None:
    """End the case's active hotspots of these kinds and drop their lift: a case closed, merged away or emptied, or
    one that no longer earns a kind (`judge_case`)."""
    ended = [r["id"] for r in await conn.fetch(END_CASE_HOTSPOT_OF_KIND, case_id, list(kinds))]
    if ended:
        await drop_lift(conn, ended)


async def judge_case(conn: Any, case_id: int, street_hint: str | None, topic_hint: str | None) -> None:
    """Raise, update or end the case's own hotspots: many reporters, and a rising risk."""
    facts = await conn.fetchrow(CASE_FACTS, case_id)
    street = facts["street"] or street_hint  # the case's: a report that names no place may have joined it
    # The case's topic, its first report's: the report that made it a hotspot may be filed under another department.
    topic = facts["topic"] or topic_hint
    span = (facts["last"] - facts["first"]).total_seconds()
    span_days = round(span / 86400, 1)
    # A crowd of a morning reads "0.0 天" in days: staff read it in hours (`views.explain`).
    span_hours = round(span / 3600, 1)
    points = [
        RiskPoint(at=r["received_at"], risk_level=r["risk_level"])
        for r in await conn.fetch(CASE_RISKS, case_id, ESCALATION_POINTS)
    ]
    trend = escalation(points)
    hotspots: list[int] = []
    crowded = facts["reporters"] >= CASE_HOTSPOT_REPORTS
    # A hotspot the case no longer earns ends, in one statement: an escalation once the case calmed down (the wages
    # paid, the road cleared), which would otherwise stand with the numbers of its peak for as long as the case took
    # reports; a crowd once staff moved reporters out (a tracked report only adds one).
    lapsed = [kind for kind, earned in (("escalation", trend.rising), ("case", crowded)) if not earned]
    if lapsed:
        await end_case_hotspots(conn, case_id, lapsed)
    if trend.rising and not await dismissed(conn, "escalation", float(trend.last_level), case_id=case_id):
        why = {
            "reports": facts["reports"],
            # One resident's calls, angrier each time, are not many people's: said apart (`CASE_FACTS`).
            "reporters": facts["reporters"],
            "first_level": trend.first_level,
            "last_level": trend.last_level,
            # Reports minutes apart have no meaningful rate per day.
            "slope_per_day": round(trend.slope_per_day, 2) if trend.span_days >= 1 / 24 else None,
            "span_days": span_days,
            "span_hours": span_hours,
        }
        hotspots.append(
            await conn.fetchval(UPSERT_CASE_HOTSPOT, "escalation", street, topic, case_id, why, float(trend.last_level))
        )
    if crowded and not await dismissed(conn, "case", float(facts["reporters"]), case_id=case_id):
        why = {
            "reports": facts["reports"],
            "reporters": facts["reporters"],
            "channels": facts["channels"],
            "span_days": span_days,
            "span_hours": span_hours,
            "max_risk": facts["max_risk"],
        }
        hotspots.append(
            await conn.fetchval(UPSERT_CASE_HOTSPOT, "case", street, topic, case_id, why, float(facts["reporters"]))
        )
    if hotspots:
        members = [r["id"] for r in await conn.fetch(CASE_MEMBERS, case_id)]
        # An escalating case outranks a merely crowded one: its id goes on the items.
        await conn.execute(LIFT, hotspots[0], members)


END_CASE_HOTSPOT_OF_KIND = """
UPDATE hotspots SET status = 'ended', ended_at = now(), updated_at = now()
WHERE case_id = $1 AND kind = ANY($2::text[]) AND status = 'active'
RETURNING id
"""

END_QUIET_AREA_ESCALATIONS = """
UPDATE hotspots SET status = 'ended', ended_at = now(), updated_at = now()
WHERE kind = 'escalation' AND case_id IS NULL AND status = 'active' AND updated_at < $1
RETURNING id
"""

END_QUIET_CASE_HOTSPOTS = """
UPDATE hotspots h SET status = 'ended', ended_at = now(), updated_at = now()
FROM cases c
WHERE h.case_id = c.id AND h.status = 'active' AND (c.status = 'closed' OR c.last_activity < $1)
RETURNING h.id
"""

ACTIVE_BURSTS = "SELECT street, topic FROM hotspots WHERE kind = 'burst' AND status = 'active'"


@rerun_after_schema_change
async def review_hotspots(conn: Any) -> None:
    """End hotspots that time has cooled: a burst whose window moved on, a case nobody reported for a week."""
    async with conn.transaction():
        quiet_since = datetime.now(UTC) - CASE_WINDOW
        ended = [r["id"] for r in await conn.fetch(END_QUIET_CASE_HOTSPOTS, quiet_since)]
        ended += [r["id"] for r in await conn.fetch(END_QUIET_AREA_ESCALATIONS, quiet_since)]
        if ended:
            await drop_lift(conn, ended)
        # A lift DROP_LIFT passed over (its item was held) goes now, and the item takes another hotspot's as there.
        await relift(conn, [r["id"] for r in await conn.fetch(STALE_LIFTS)])
        prior = await district_prior(conn)
        for row in await conn.fetch(ACTIVE_BURSTS):
            await _check_burst(conn, row["street"], row["topic"], prior, at=datetime.now(UTC))

"""What every fault scenario ends with: each 201 has exactly one row, and each row exactly one classification.

A row whose classification kept failing ends `failed` and stays in the feed for a person to triage; that counts as
accounted for. Nothing else does: a missing row, a row nobody asked for, an item still pending, an item classified
twice.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench._texts import seed_corpus_texts

PHONE_EVERY = 7  # every seventh item carries a phone number in its text and as contact: none may leak


def texts(count: int, seed: int = 7) -> list[str]:
    """Varied, realistic item texts from the project's seed corpus, some carrying a phone number."""
    corpus = seed_corpus_texts()
    rng = random.Random(seed)
    out = []
    for i in range(count):
        text = rng.choice(corpus)
        if i % PHONE_EVERY == 0:
            text += f"我的电话是1{rng.choice('3589')}{rng.randrange(10**9):09d}，请回电。"
        out.append(text)
    return out


def body(text: str, i: int) -> dict[str, Any]:
    item: dict[str, Any] = {"channel": "web", "text": text}
    if i % PHONE_EVERY == 0:
        item["contact_phone"] = f"139{i % 10**8:08d}"
    return item


@dataclass
class Submissions:
    """What the clients were told: ids of 201s (and 200 replays), and every status seen."""

    created: dict[int, int] = field(default_factory=dict)  # submission number -> item id
    statuses: list[int] = field(default_factory=list)
    retry_after_missing: int = 0
    first_201_after: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return len(self.created)


async def submit_all(
    client: httpx.AsyncClient,
    count: int,
    *,
    concurrency: int = 16,
    per_second: float | None = None,
    retry_503: bool = False,
    on_progress: Callable[[int], Awaitable[None]] | None = None,
) -> Submissions:
    """Post `count` items, `concurrency` at a time, at most `per_second`. With `retry_503`, a 503 is retried with the
    same Idempotency-Key, as a well-behaved client does, until the item is stored."""
    result = Submissions()
    bodies = [body(t, i) for i, t in enumerate(texts(count))]
    gate = asyncio.Semaphore(concurrency)
    started = time.monotonic()

    async def one(i: int) -> None:
        if per_second:
            await asyncio.sleep(max(0.0, started + i / per_second - time.monotonic()))
        async with gate:
            while True:
                try:
                    response = await client.post(
                        "/api/v1/items", json=bodies[i], headers={"Idempotency-Key": f"fault-{i}"}
                    )
                except httpx.TransportError:
                    result.statuses.append(0)
                    await asyncio.sleep(0.2)
                    continue
                result.statuses.append(response.status_code)
                if response.status_code in (200, 201):
                    result.created[i] = response.json()["id"]
                    break
                if response.status_code == 503:
                    if "retry-after" not in response.headers:
                        result.retry_after_missing += 1
                    if retry_503:
                        await asyncio.sleep(0.2)
                        continue
                break
        if on_progress is not None:
            await on_progress(len(result.created))

    await asyncio.gather(*(one(i) for i in range(count)))
    return result


@dataclass
class Accounting:
    accepted: int
    rows: int
    classified_once: int
    failed_visible: int
    pending: int
    classified_twice: int
    rows_without_201: int
    missing_rows: int

    def line(self) -> str:
        return (
            f"accounting: {self.accepted} accepted, {self.rows} rows, {self.classified_once} classified once, "
            f"{self.failed_visible} failed and in the feed, {self.pending} pending, "
            f"{self.classified_twice} classified twice, {self.rows_without_201} rows nobody was told of, "
            f"{self.missing_rows} accepted items without a row"
        )

    @property
    def exact(self) -> bool:
        return (
            self.rows == self.accepted
            and self.classified_once + self.failed_visible == self.rows
            and self.pending == self.classified_twice == self.rows_without_201 == self.missing_rows == 0
        )


async def account(conn: Any, created_ids: set[int]) -> Accounting:
    rows = await conn.fetch(
        """
        SELECT i.id, i.status,
               count(c.id) FILTER (WHERE c.is_current) AS current,
               count(c.id) AS total
        FROM items i LEFT JOIN classifications c ON c.item_id = i.id
        GROUP BY i.id
        """
    )
    ids = {r["id"] for r in rows}
    return Accounting(
        accepted=len(created_ids),
        rows=len(rows),
        classified_once=sum(1 for r in rows if r["status"] == "open" and r["current"] == 1 and r["total"] == 1),
        # The feed lists every status but closed, so a failed item is in it (the poison test reads it there).
        failed_visible=sum(1 for r in rows if r["status"] == "failed"),
        pending=sum(1 for r in rows if r["status"] == "pending"),
        classified_twice=sum(1 for r in rows if r["total"] > 1 or r["current"] > 1),
        rows_without_201=len(ids - created_ids),
        missing_rows=len(created_ids - ids),
    )


async def wait_classified(conn: Any, *, progress_within: float) -> float:
    """Seconds until no item is pending. Raises once `progress_within` seconds pass without an item classified: on a
    busy machine a backlog takes as long as its worker needs, and only a worker that stopped classifying (or items
    nobody takes again) is a failure."""
    started = last_progress = time.monotonic()
    counts = "SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) AS items FROM items"
    classified = -1
    while (row := await conn.fetchrow(counts))["pending"]:
        if row["items"] - row["pending"] > classified:
            classified, last_progress = row["items"] - row["pending"], time.monotonic()
        elif time.monotonic() - last_progress > progress_within:
            raise TimeoutError(f"{row['pending']} items still pending, none classified for {progress_within} s")
        await asyncio.sleep(0.25)
    return time.monotonic() - started

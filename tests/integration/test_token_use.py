"""The day each token was last used, for admins to tell tokens in use from forgotten ones: recorded once a day per
token, so that looking a token up at every request does not write at every request."""

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from suggestions.auth import Principal, RevokerRevoked, create_token, principal_for_token, revoke_token

ZONE = "Asia/Shanghai"


async def test_a_tokens_use_is_recorded_once_a_day_in_the_districts_day(conn: Any) -> None:
    token = await create_token(conn, role="operator", label="坐席 3")
    assert await conn.fetchval("SELECT last_used_on FROM api_tokens") is None
    principal = await principal_for_token(conn, token, zone=ZONE)
    assert principal is not None
    today = datetime.now(ZoneInfo(ZONE)).date()
    assert await conn.fetchval("SELECT last_used_on FROM api_tokens") == today

    # Used again the same day: the row is not written again.
    written = await conn.fetchval("SELECT xmin::text FROM api_tokens")
    for _ in range(3):
        assert await principal_for_token(conn, token, zone=ZONE) == principal
    assert await conn.fetchval("SELECT xmin::text FROM api_tokens") == written

    # The next day's first use is.
    await conn.execute("UPDATE api_tokens SET last_used_on = $1", today - timedelta(days=9))
    await principal_for_token(conn, token, zone=ZONE)
    assert await conn.fetchval("SELECT last_used_on FROM api_tokens") == today


async def test_a_look_up_inside_a_transaction_writes_nothing(conn: Any) -> None:
    token = await create_token(conn, role="staff")
    async with conn.transaction():
        assert await principal_for_token(conn, token, zone=ZONE) is not None
    assert await conn.fetchval("SELECT last_used_on FROM api_tokens") is None


async def principal_with(conn: Any, token: str, setting: str, value: str) -> Principal | None:
    """The token looked up on a connection with one setting in force, the setting reset after."""
    await conn.execute(f"SET {setting} = {value}")
    try:
        return await principal_for_token(conn, token, zone=ZONE)
    finally:
        await conn.execute(f"RESET {setting}")


async def test_a_server_that_takes_no_writes_still_knows_the_token(conn: Any) -> None:
    """A failover's demoted primary, or a server read-only to protect a full disk: the day of use is not recorded,
    and the request it came with is answered as it was before days of use were recorded, not refused with a 503."""
    token = await create_token(conn, role="staff")
    principal = await principal_with(conn, token, "default_transaction_read_only", "on")
    assert principal is not None
    assert principal.role == "staff"
    assert await conn.fetchval("SELECT last_used_on FROM api_tokens") is None


async def test_a_tokens_row_held_by_a_long_transaction_does_not_hold_the_request(conn: Any, pool: Any) -> None:
    """A transaction that holds the token's row (a migration, a revocation waiting on its commit) past the statement
    limit: the day is recorded by a later request, and this one is answered."""
    token = await create_token(conn, role="staff")
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM api_tokens FOR UPDATE")
        principal = await principal_with(conn, token, "lock_timeout", "'100ms'")
    assert principal is not None


async def test_two_admins_revoking_each_other_at_once_leave_one_of_them(pool: Any) -> None:
    """Each may revoke the other, not both at once: the centre would be left without an admin on its pages."""
    async with pool.acquire() as conn:
        for label in ("管理员 甲", "管理员 乙"):
            await create_token(conn, role="admin", label=label)
        ids = [
            await conn.fetchval("SELECT id FROM api_tokens WHERE label = $1", label)
            for label in ("管理员 甲", "管理员 乙")
        ]

    async def revoke(target: int, by: int) -> bool:
        async with pool.acquire() as conn:
            return await revoke_token(conn, target, by=by)

    for _ in range(10):
        done = await asyncio.gather(revoke(ids[0], ids[1]), revoke(ids[1], ids[0]), return_exceptions=True)
        assert done.count(True) == 1
        assert [type(outcome) for outcome in done if outcome is not True] == [RevokerRevoked]
        assert await pool.fetchval("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL") == 1
        await pool.execute("UPDATE api_tokens SET revoked_at = NULL")

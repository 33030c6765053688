import asyncio
import json
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner

from suggestions.auth import hash_token
from suggestions.cli import main
from suggestions.settings import Settings
from tests.link import Link
from tests.processes import free_port


def env(settings: Settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}


def test_migrate_reports_nothing_left_to_apply(settings: Settings) -> None:
    result = CliRunner().invoke(main, ["migrate"], env=env(settings))
    assert result.exit_code == 0, result.output
    assert "applied 0 migration(s)" in result.output


async def test_migrate_waits_for_postgresql_to_accept_connections(settings: Settings) -> None:
    """A one-shot migration started beside PostgreSQL (a host's reboot, a deploy without compose's health checks)
    waits for it rather than fail at once, and says so."""
    link = Link(settings.database_url)
    port = free_port()
    migrating = asyncio.ensure_future(
        asyncio.to_thread(
            CliRunner().invoke, main, ["migrate", "--wait", "30"], env={**env(settings), "DATABASE_URL": link.url(port)}
        )
    )
    try:
        await asyncio.sleep(2)
        assert not migrating.done()
        await link.start(port)
        result = await asyncio.wait_for(migrating, 20)
    finally:
        await link.close()
    assert result.exit_code == 0, result.output
    assert "waiting up to 30 s for PostgreSQL to accept connections" in result.output
    assert "applied 0 migration(s)" in result.output


def test_migrate_waits_a_bounded_time_and_says_for_what(settings: Settings) -> None:
    away = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/x"
    started = time.monotonic()
    result = CliRunner().invoke(main, ["migrate", "--wait", "2"], env={**env(settings), "DATABASE_URL": away})
    assert time.monotonic() - started < 10
    assert result.exit_code == 1, result.output
    assert "PostgreSQL did not accept connections within 2 s (ConnectionRefusedError)" in result.output
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output


def test_token_create_prints_a_token_that_is_stored_hashed(settings: Settings) -> None:
    result = CliRunner().invoke(
        main, ["token", "create", "--role", "operator", "--label", "console 3"], env=env(settings)
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("sgt_")

    async def stored() -> Any:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return await conn.fetchrow("SELECT role, label, token_hash FROM api_tokens")
        finally:
            await conn.close()

    row = asyncio.run(stored())
    assert (row["role"], row["label"]) == ("operator", "console 3")
    assert bytes(row["token_hash"]) == hash_token(token)


def test_every_role_has_its_token_command(settings: Settings) -> None:
    from suggestions.auth import ROLES

    for role in ROLES:
        result = CliRunner().invoke(main, ["token", "create", "--role", role], env=env(settings))
        assert result.exit_code == 0, (role, result.output)


def test_commands_refuse_to_run_without_urls() -> None:
    result = CliRunner().invoke(main, ["worker"], env={"DATABASE_URL": "", "REDIS_URL": ""})
    assert result.exit_code != 0
    assert "DATABASE_URL" in result.output


def test_token_roles_are_checked() -> None:
    result = CliRunner().invoke(main, ["token", "create", "--role", "mayor"], env={"DATABASE_URL": "postgresql://x"})
    assert result.exit_code == 2


@pytest.mark.parametrize("label", ["desk 1\nrole: admin", "\x1b[31m", "x" * 101])
def test_a_token_label_is_one_printable_line(label: str) -> None:
    result = CliRunner().invoke(
        main, ["token", "create", "--role", "staff", "--label", label], env={"DATABASE_URL": "postgresql://x"}
    )
    assert result.exit_code == 2
    assert "--label" in result.output


@pytest.mark.parametrize(("variable", "argument"), [(None, "999999999999"), ("SUGGESTIONS_RETENTION_DAYS", None)])
def test_a_retention_period_past_a_century_is_refused_naming_it(
    settings: Settings, variable: str | None, argument: str | None
) -> None:
    environ = {**env(settings), **({variable: "999999999999"} if variable else {})}
    result = CliRunner().invoke(
        main, ["retention", "--dry-run", *(["--closed-days", argument] if argument else [])], env=environ
    )
    assert result.exit_code in (1, 2)
    assert ("--closed-days" if argument else "retention_days") in result.output
    assert "DataError" not in result.output


def test_the_grouping_report_and_the_edits_export_run_from_the_command_line(settings: Settings, tmp_path: Path) -> None:
    report = CliRunner().invoke(main, ["grouping-report", "--days", "7"], env=env(settings))
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["days"] == 7
    out = tmp_path / "edits.jsonl"
    exported = CliRunner().invoke(main, ["export", "case-edits", "--out", str(out)], env=env(settings))
    assert exported.exit_code == 0, exported.output
    assert out.exists()


def test_tokens_are_listed_without_their_secret_and_revoked_by_id(settings: Settings) -> None:
    runner = CliRunner()
    first = runner.invoke(
        main, ["token", "create", "--role", "grid", "--label", "网格员 张三的手机"], env=env(settings)
    )
    second = runner.invoke(main, ["token", "create", "--role", "staff"], env=env(settings))
    listed = runner.invoke(main, ["token", "list"], env=env(settings))
    assert listed.exit_code == 0, listed.output
    assert first.output.strip() not in listed.output
    assert second.output.strip() not in listed.output
    tokens = [json.loads(line) for line in listed.output.splitlines()]
    phone = next(t for t in tokens if t["label"] == "网格员 张三的手机")
    assert (phone["role"], phone["revoked_at"]) == ("grid", None)
    assert set(phone) == {"id", "role", "label", "created_at", "revoked_at", "last_used_on"}

    revoked = runner.invoke(main, ["token", "revoke", str(phone["id"])], env=env(settings))
    assert revoked.exit_code == 0, revoked.output
    assert phone["id"] not in [
        json.loads(line)["id"] for line in runner.invoke(main, ["token", "list"], env=env(settings)).output.splitlines()
    ]
    everything = runner.invoke(main, ["token", "list", "--revoked"], env=env(settings)).output.splitlines()
    [gone] = [json.loads(line) for line in everything if json.loads(line)["id"] == phone["id"]]
    assert gone["revoked_at"] is not None

    again = runner.invoke(main, ["token", "revoke", str(phone["id"])], env=env(settings))
    assert again.exit_code == 1
    assert f"no token in use has id {phone['id']}" in again.output
    assert runner.invoke(main, ["token", "revoke", "0"], env=env(settings)).exit_code == 2
    assert runner.invoke(main, ["token", "revoke", str(2**63)], env=env(settings)).exit_code == 2

    async def recorded() -> list[tuple[str, int, Any]]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            rows = await conn.fetch("SELECT change, token_id, changed_by FROM token_changes ORDER BY id")
            return [tuple(row) for row in rows]
        finally:
            await conn.close()

    # What the command line did is on the admins' record too, by no admin's token.
    changes = asyncio.run(recorded())
    assert ("created", phone["id"], None) in changes
    assert changes[-1] == ("revoked", phone["id"], None)
    assert len(changes) == 3


def test_a_database_that_is_not_there_is_one_line_not_a_traceback(settings: Settings) -> None:
    missing = settings.database_url.rsplit("/", 1)[0] + "/no_such_database"
    result = CliRunner().invoke(main, ["grouping-report"], env={**env(settings), "DATABASE_URL": missing})
    assert result.exit_code == 1
    assert "InvalidCatalogNameError" in result.output
    assert "Traceback" not in result.output


async def test_the_hotspots_export_says_how_each_ended_and_holds_no_text(
    settings: Settings, tmp_path: Path, conn: Any
) -> None:
    why = {"reports": 5, "reporters": 5}
    for status, note in (("active", None), ("dismissed", "已处理，联系人王建国13912345678")):
        await conn.execute(
            "INSERT INTO hotspots (kind, street, topic, why, score, status, dismissal_note) "
            "VALUES ('burst', '回龙观街道', '城乡建设', $1, 6, $2, $3)",
            why,
            status,
            note,
        )
    out = tmp_path / "hotspots.jsonl"
    exported = await asyncio.to_thread(
        CliRunner().invoke, main, ["export", "hotspots", "--out", str(out)], env=env(settings)
    )
    assert exported.exit_code == 0, exported.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["status"], r["why"]) for r in records] == [("active", why), ("dismissed", why)]
    assert "已处理" not in out.read_text()


def test_an_unreachable_redis_is_one_line_without_its_password(settings: Settings, tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text('{"channel": "hotline", "text": "路灯不亮", "external_id": "R-1"}\n')
    unreachable = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    for command in (["import", str(items)], ["worker", "--check"]):
        result = CliRunner().invoke(main, command, env={**env(settings), "REDIS_URL": unreachable})
        assert result.exit_code == 1, result.output
        assert "Error: Redis: ConnectionError" in result.output
        assert "Traceback" not in result.output
        assert "s3cret" not in result.output


def test_a_time_zone_that_does_not_exist_stops_a_command_before_it_writes(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "classifications.jsonl"
    result = CliRunner().invoke(
        main,
        ["export", "classifications", "--out", str(out)],
        env={**env(settings), "SUGGESTIONS_TIMEZONE": "Asia/Beijing"},
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: bad SUGGESTIONS_* setting: timezone: 'Asia/Beijing' is no IANA time zone, e.g. Asia/Shanghai"
    )
    assert not out.exists()

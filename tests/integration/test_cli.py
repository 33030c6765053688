import asyncio
from typing import Any

import asyncpg
from click.testing import CliRunner

from suggestions.auth import hash_token
from suggestions.cli import main
from suggestions.settings import Settings


def env(settings: Settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}


def test_migrate_reports_nothing_left_to_apply(settings: Settings) -> None:
    result = CliRunner().invoke(main, ["migrate"], env=env(settings))
    assert result.exit_code == 0, result.output
    assert "applied 0 migration(s)" in result.output


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


def test_commands_refuse_to_run_without_urls() -> None:
    result = CliRunner().invoke(main, ["worker"], env={"DATABASE_URL": "", "REDIS_URL": ""})
    assert result.exit_code != 0
    assert "DATABASE_URL" in result.output


def test_token_roles_are_checked() -> None:
    result = CliRunner().invoke(main, ["token", "create", "--role", "mayor"], env={"DATABASE_URL": "postgresql://x"})
    assert result.exit_code == 2

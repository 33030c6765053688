"""compose.yaml runs the production shape; no Docker engine runs here, so its structure is checked instead."""

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_services_and_their_order() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    for name in ("postgres", "redis", "api", "worker"):
        assert "healthcheck" in services[name], name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"


def test_app_services_use_the_image_and_real_urls_without_default_secrets() -> None:
    text = (ROOT / "compose.yaml").read_text()
    services = compose()["services"]
    for name in ("migrate", "api", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["REDIS_URL"].startswith("redis://")
        assert services[name]["build"] == "."
    assert "${POSTGRES_PASSWORD:?" in text
    assert ":-" not in text  # no default for any variable


def test_commands_exist_in_the_cli() -> None:
    from click.testing import CliRunner

    from suggestions.cli import main

    for name in ("migrate", "api", "worker"):
        command = compose()["services"][name]["command"]
        assert command[:3] == ["python", "-m", "suggestions"]
        result = CliRunner().invoke(main, [*command[3:4], "--help"])
        assert result.exit_code == 0, result.output
    assert (ROOT / "Dockerfile").exists()


def seconds(duration: str) -> float:
    """A compose duration such as `45s` or `1m30s`."""
    parts = re.fullmatch(r"(?=\d)(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts is not None, duration
    return int(parts[1] or 0) * 60 + int(parts[2] or 0)


def test_a_deploy_lets_the_api_and_the_worker_finish_what_they_hold() -> None:
    """Docker stops a container with SIGKILL 10 s after SIGTERM unless told otherwise. A worker killed so mid-batch
    leaves its items to wait for their lease and the sweeper on every deploy, and an API process a request whose
    statement may take 30 s (staff's) or whose item was stored without an answer."""
    from suggestions.classify.worker import worker_settings
    from suggestions.db import COMMAND_TIMEOUT_SECONDS
    from suggestions.settings import Settings

    services = compose()["services"]
    finishing = worker_settings(Settings(redis_url="redis://redis:6379/0"))["job_completion_wait"]
    assert seconds(services["worker"].get("stop_grace_period", "10s")) > finishing
    assert seconds(services["api"].get("stop_grace_period", "10s")) > COMMAND_TIMEOUT_SECONDS

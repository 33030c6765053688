"""compose.yaml runs the production shape; no Docker engine runs here, so its structure is checked instead."""

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

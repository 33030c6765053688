"""The embedded servers `suggestions dev` starts on a laptop without PostgreSQL."""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from suggestions.embedded import EmbeddedServers
from tests.processes import is_running

pytest.importorskip("pgserver")
pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")


def postmaster(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def test_postgres_is_stopped_after_an_earlier_run_was_killed(tmp_path: Path) -> None:
    pgdata = tmp_path / "postgres"
    first = EmbeddedServers()
    first.postgres_url(tmp_path)
    first.close()
    # a `dev` killed while it ran (kill -9, a crash) is still counted among the server's users
    killed = subprocess.Popen(["true"])
    killed.wait()
    (pgdata / ".handle_pids.json").write_text(json.dumps([killed.pid]))

    again = EmbeddedServers()
    again.postgres_url(tmp_path)
    server = postmaster(pgdata)
    try:
        again.close()
        assert not is_running(server)
    finally:
        if is_running(server):
            os.kill(server, signal.SIGINT)

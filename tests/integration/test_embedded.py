"""The embedded servers `suggestions dev` starts on a laptop without PostgreSQL."""

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from suggestions.embedded import EmbeddedServers, _forget_dead_users
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


def test_the_dead_are_dropped_from_the_users_under_pgservers_lock(tmp_path: Path) -> None:
    # Another process adding itself meanwhile (a second `dev`, a test run) would otherwise lose its place in the
    # list, and the server be stopped under it when this one ends.
    pgdata = tmp_path / "postgres"
    pgdata.mkdir()
    killed = subprocess.Popen(["true"])
    killed.wait()
    users = pgdata / ".handle_pids.json"
    users.write_text(json.dumps([killed.pid]))
    forgetting = threading.Thread(target=_forget_dead_users, args=(pgdata,))
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_PGSERVER_LOCK], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        forgetting.start()
        forgetting.join(timeout=2)
        assert forgetting.is_alive()
        assert json.loads(users.read_text()) == [killed.pid]
    forgetting.join(timeout=30)
    assert json.loads(users.read_text()) == []


HOLD_PGSERVER_LOCK = """
import sys
from pgserver.postgres_server import PostgresServer
PostgresServer._lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""

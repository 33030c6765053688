"""`suggestions dev`, what `scripts/run.py` starts: everything in one process tree, and nothing left when it ends."""

import os
import signal
import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from suggestions.cli import main
from suggestions.settings import Settings
from tests.processes import Process, _answers, free_port, is_running, service_env, wait_until

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            # the parent's id is the second field after the command's name, which may hold spaces
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def test_a_port_in_use_is_refused_before_anything_starts(settings: Settings) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main,
            ["dev", "--port", str(port)],
            env={"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url},
        )
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: cannot listen on 127.0.0.1:{port} (Address already in use)")
    assert "staff token" not in result.output


@pytest.mark.parametrize("stop", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_closed_terminal_stops_every_process_dev_started(settings: Settings, stop: signal.Signals) -> None:
    port = free_port()
    dev = Process("dev", [sys.executable, "-m", "suggestions", "dev", "--port", str(port)], service_env(settings))
    assert dev.popen is not None
    children: list[int] = []
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="dev to start")
        children = children_of(dev.popen.pid)
        assert len(children) == 2, dev.output()  # the API and a worker
        dev.popen.send_signal(stop)
        dev.popen.wait(30)
        wait_until(lambda: not any(is_running(pid) for pid in children), timeout=20, what="dev's children to stop")
    finally:
        for pid in children:
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)
        dev.kill()

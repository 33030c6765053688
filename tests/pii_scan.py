"""After the whole run: no phone, 身份证 or bank-card number in logs, in Redis (keys and values) or in job payloads.

The test suite posts items with phone and ID numbers in their texts and contact fields. Throughout the run this
records every log line of the test process, every command any client sends to the suite's Redis database (Redis
MONITOR: keys, values and arq job payloads as they travel) and the output of every server process the tests start;
at the end it also reads what is left in Redis. Any personal number found fails the run, naming where, never the
number.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from suggestions.privacy import contains_pii

ARGUMENT_SEPARATOR = "\x1f"


class _Recorder:
    """Every log record the test process creates, whatever handlers the code under test installs or removes."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._previous = logging.getLogRecordFactory()

    def start(self) -> None:
        previous = self._previous

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            self.emit(record)
            return record

        logging.setLogRecordFactory(factory)

    def stop(self) -> None:
        logging.setLogRecordFactory(self._previous)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = f"{record.name} {record.levelname} {record.getMessage()}"
        except Exception:  # a record that cannot be formatted is not a leak
            line = f"{record.name} unformattable record"
        if record.exc_info and record.exc_info[1] is not None:
            line += f" {record.exc_info[1]!s}"
        self.lines.append(line)


@dataclass
class _Monitor:
    """Redis MONITOR on a thread of its own, keeping the commands sent to one database."""

    url: str
    commands: list[str] = field(default_factory=list)
    _client: redis.Redis | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._client = redis.Redis.from_url(self.url)
        db = self._client.connection_pool.connection_kwargs.get("db", 0)
        monitor = self._client.monitor()
        monitor.__enter__()
        ready = threading.Event()

        def listen() -> None:
            ready.set()
            try:
                while True:
                    line = monitor.connection.read_response()
                    text = line.decode(errors="replace") if isinstance(line, bytes) else str(line)
                    matched = monitor.monitor_re.match(text.split(" ", 1)[1])
                    if matched and int(matched.group(1)) == db:
                        # Each argument apart: a key ending in digits beside a number of milliseconds is no phone.
                        self.commands.append(ARGUMENT_SEPARATOR.join(monitor.command_re.findall(matched.group(3))))
            except Exception:  # the connection was closed: the run is over
                return

        self._thread = threading.Thread(target=listen, name="redis-monitor", daemon=True)
        self._thread.start()
        ready.wait(5)
        self._monitor = monitor

    def stop(self) -> None:
        self._monitor.connection.disconnect()
        if self._thread is not None:
            self._thread.join(5)
        if self._client is not None:
            self._client.close()


def _redis_contents(url: str) -> Iterator[str]:
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(count=500):
            yield key.decode(errors="replace")
            kind = client.type(key).decode()
            if kind == "string":
                yield (client.get(key) or b"").decode(errors="replace")
            elif kind == "hash":
                yield " ".join(f"{k!r}={v!r}" for k, v in client.hgetall(key).items())
            elif kind == "list":
                yield " ".join(map(repr, client.lrange(key, 0, -1)))
            elif kind in ("set", "zset"):
                members = client.smembers(key) if kind == "set" else client.zrange(key, 0, -1)
                yield " ".join(map(repr, members))
    finally:
        client.close()


class PersonalDataScan:
    def __init__(self, redis_url: str, log_dir: Path) -> None:
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.recorder = _Recorder()
        self.monitor = _Monitor(redis_url)
        self.counts: dict[str, int] = {}

    def start(self) -> None:
        root = logging.getLogger()
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        self.recorder.start()
        self.monitor.start()

    def finish(self) -> list[str]:
        """Where personal numbers were found ("redis command 12"), empty when none."""
        self.recorder.stop()
        self.monitor.stop()
        sources: dict[str, list[str]] = {
            "log record": self.recorder.lines,
            "redis command": self.monitor.commands,
            "redis content": list(_redis_contents(self.redis_url)),
        }
        for path in sorted(self.log_dir.glob("*.log")):
            sources[f"output of {path.name}, line"] = path.read_text(errors="replace").splitlines()
        found = []
        for source, lines in sources.items():
            self.counts[source] = len(lines)
            found += [f"{source} {n}" for n, line in enumerate(lines) if contains_pii(line)]
        return found

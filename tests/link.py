"""A TCP link between the service and a server (PostgreSQL, Redis) that a test breaks at the moment it chooses.

Killing a server breaks every connection at once and at no chosen moment; a connection lost in the middle of one
exchange, a server's goodbye that arrives before its connection closes, or a server that falls silent without closing
anything (its host gone, a failover, a firewall's forgotten connection) needs a hand on the wire. The link runs on the
test's event loop and forwards bytes as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit


class Link:
    """Listens on a port of its own and forwards each connection to the server `url` names.

    `cut_when_sent`: the next connection whose client sends these bytes is cut there, both ways, before they reach
    the server (once). `silence_when_sent`: the next connection whose client sends these bytes carries them to the
    server and then nothing more either way (once), as when the server's host is lost after a commit reached it and
    before its answer left. `lose_when_sent`: the same, and the client's side of that connection is then cut, as when
    the connection is lost once the commit has reached the server; `when_lost()` is called then. `hold_close`: seconds
    a client's side stays open after the server closed its own, as when the server's last message has arrived and its
    closing has not yet. `silence()`: the connections open now carry
    nothing more either way and stay open; new ones are forwarded."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.target = (
            parts.hostname or "127.0.0.1",
            parts.port or (6379 if parts.scheme.startswith("redis") else 5432),
        )
        self._parts = parts
        self.cut_when_sent: bytes | None = None
        self.silence_when_sent: bytes | None = None
        self.lose_when_sent: bytes | None = None
        self.when_lost: Callable[[], object] | None = None
        self.hold_close = 0.0
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: list[set[bool]] = []  # per connection: holds True once silenced
        self._writers: list[asyncio.StreamWriter] = []
        self._silence_new = False

    async def start(self, port: int = 0) -> str:
        """Start listening (on `port`, or on one of its own); returns the URL that reaches the server through the link
        (PostgreSQL's in plain text, so that the link sees what the client sends). A service given the URL of a link
        not started yet finds its server away, and there once the link starts."""
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", port)
        return self.url(self._server.sockets[0].getsockname()[1])

    def url(self, port: int) -> str:
        """The URL that reaches the server through a link listening on `port`."""
        userinfo = self._parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        netloc = f"{userinfo[0]}@{host}" if len(userinfo) == 2 else host
        query = self._parts.query
        if self._parts.scheme.startswith("postgres"):
            query = "&".join(q for q in (query, "sslmode=disable") if q)
        return urlunsplit(self._parts._replace(netloc=netloc, query=query))

    def silence(self, *, new_ones_too: bool = False) -> None:
        """The connections open now carry nothing more; with `new_ones_too`, those opened from now on neither (the
        server's host is gone and nothing has taken its place)."""
        for state in self._open:
            state.add(True)
        self._silence_new = new_ones_too

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.transport.abort()
        await asyncio.sleep(0)  # the transports close on the next turn of the loop

    async def _connected(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        ends = (client_writer, server_writer)
        self._writers.extend(ends)
        silenced: set[bool] = {True} if self._silence_new else set()
        self._open.append(silenced)
        for pump in (
            self._client_to_server(client_reader, server_writer, ends, silenced),
            self._server_to_client(server_reader, client_writer, silenced),
        ):
            task = asyncio.ensure_future(pump)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _client_to_server(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ends: tuple[asyncio.StreamWriter, ...],
        silenced: set[bool],
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                if silenced:
                    continue
                if self.cut_when_sent is not None and self.cut_when_sent in chunk:
                    self.cut_when_sent = None
                    self.cuts += 1
                    for end in ends:
                        end.transport.abort()
                    return
                writer.write(chunk)
                await writer.drain()
                if self.silence_when_sent is not None and self.silence_when_sent in chunk:
                    self.silence_when_sent = None
                    silenced.add(True)
                if self.lose_when_sent is not None and self.lose_when_sent in chunk:
                    self.lose_when_sent = None
                    silenced.add(True)
                    ends[0].transport.abort()
                    if self.when_lost is not None:
                        self.when_lost()
        writer.close()

    async def _server_to_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, silenced: set[bool]
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                if silenced:
                    continue
                writer.write(chunk)
                await writer.drain()
        await asyncio.sleep(self.hold_close)
        writer.transport.abort()

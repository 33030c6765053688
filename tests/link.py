"""A TCP link between the service and PostgreSQL that a test breaks at the moment it chooses.

Killing the server breaks every connection at once and at no chosen moment; a connection lost in the middle of one
exchange, or a server's goodbye that arrives before its connection closes, needs a hand on the wire. The link runs on
the test's event loop and forwards bytes as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit


class Link:
    """Listens on a port of its own and forwards each connection to `url`'s server.

    `cut_when_sent`: the next connection whose client sends these bytes is cut there, both ways, before they reach
    the server (once). `hold_close`: seconds a client's side stays open after the server closed its own, as when the
    server's last message has arrived and its closing has not yet."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._parts = parts
        self.cut_when_sent: bytes | None = None
        self.hold_close = 0.0
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Start listening; returns the URL that reaches the server through the link (in plain text, so that the
        link sees what the client sends)."""
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        netloc = self._parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        query = "&".join(q for q in (self._parts.query, "sslmode=disable") if q)
        return urlunsplit(self._parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host, query=query))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connected(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        ends = (client_writer, server_writer)
        for pump in (
            self._client_to_server(client_reader, server_writer, ends),
            self._server_to_client(server_reader, client_writer),
        ):
            task = asyncio.ensure_future(pump)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ends: tuple[asyncio.StreamWriter, ...]
    ) -> None:
        while chunk := await reader.read(65536):
            if self.cut_when_sent is not None and self.cut_when_sent in chunk:
                self.cut_when_sent = None
                self.cuts += 1
                for end in ends:
                    end.transport.abort()
                return
            writer.write(chunk)
            await writer.drain()
        writer.close()

    async def _server_to_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        await asyncio.sleep(self.hold_close)
        writer.transport.abort()

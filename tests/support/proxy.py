"""A loopback TCP proxy that plays a link's failures: a silent freeze, a cut, a blocked WebSocket.

A real link rarely dies with a clean close. A Wi-Fi ↔ 4G switch, a NAT timeout or a frozen
router leaves the socket open with nothing moving through it; only a new connection (a new
NAT mapping, the new interface) works again. ``freeze()`` plays that: every connection open
at that moment stops forwarding in both directions without closing; connections made
afterwards pass (or, with ``new=True``, are swallowed the same way until ``heal()``). A dead
link is held ``dead_link_s`` (120 s) and then reset, as a middlebox forgets a dead mapping:
the hub gave up on it long before, and a long fault run must not keep every socket it ever
froze (a 10-minute run at 500 hubs ran out of file descriptors that way).
``cut()`` resets every connection and refuses new ones until ``heal()``.
``block_websockets`` swallows any connection whose request asks for a WebSocket upgrade
while plain HTTP passes (a proxy or captive portal that blocks WebSockets).
``stall(up=...)`` stops one direction of every open connection (a half-dead link: requests
leave, answers never come, or the other way round). ``latency`` and ``jitter`` delay every
chunk forwarded (a congested 3G link). ``reset_mid_frame()`` lets half of the next chunk of
each open connection through and then resets it: a frame cut in the middle.
With ``alternates`` it is also a load balancer: a connection the first target refuses goes
to the next (a server process killed behind the balancer).

It counts the bytes it forwards each way, so a test or benchmark can say what keepalives cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

_HEAD_LIMIT = 16_384


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    frozen: bool = False
    stalled_up: bool = False
    stalled_down: bool = False
    cut_mid_frame: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()


class FaultProxy:
    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        alternates: Sequence[tuple[str, int]] = (),
    ) -> None:
        self.target = (target_host, target_port)
        self.targets = [self.target, *alternates]
        self.latency = 0.0  # seconds added to every forwarded chunk ...
        self.jitter = 0.0  # ... plus up to this much more, at random
        self._rng = random.Random(0)
        self.port = 0
        self.block_websockets = False
        self.bytes_up = 0  # client → server
        self.bytes_down = 0  # server → client
        self.connections = 0
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._refusing = False
        self._swallowing = False
        self._thaw = asyncio.Event()  # set only by stop(): a frozen link stays dead ...
        self.dead_link_s = 120.0  # ... until then, or this long

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port or self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.abort()
            for task in link.tasks:
                task.cancel()
        self._links.clear()
        self._thaw.set()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- faults ------------------------------------------------------------------------------

    def freeze(self, *, new: bool = False) -> None:
        """Open connections go silent for good; with ``new``, later ones too until ``heal``."""
        for link in self._links:
            link.frozen = True
        self._swallowing = new

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until ``heal``."""
        self._refusing = True
        for link in list(self._links):
            link.abort()

    def stall(self, *, up: bool) -> None:
        """Open connections stop forwarding one way for good (``up``: client → server)."""
        for link in self._links:
            if up:
                link.stalled_up = True
            else:
                link.stalled_down = True

    def reset_mid_frame(self) -> None:
        """Each open connection forwards half of its next chunk, then is reset."""
        for link in self._links:
            link.cut_mid_frame = True

    def heal(self) -> None:
        self._refusing = False
        self._swallowing = False
        self.latency = 0.0
        self.jitter = 0.0

    # -- forwarding --------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.transport.abort()
            return
        self.connections += 1
        link = _Link(client=writer, frozen=self._swallowing)
        self._links.add(link)
        try:
            head = await self._read_head(reader)
            if self.block_websockets and b"upgrade: websocket" in head.lower():
                link.frozen = True
            if link.frozen:
                await self._hold()
                return
            up_reader, up_writer = await self._connect()
            link.upstream = up_writer
            if self._refusing:
                return
            up_writer.write(head)
            self.bytes_up += len(head)
            link.tasks = [
                asyncio.create_task(self._pump(link, reader, up_writer, up=True)),
                asyncio.create_task(self._pump(link, up_reader, writer, up=False)),
            ]
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for task in link.tasks:
                task.cancel()
            link.abort()
            self._links.discard(link)

    async def _hold(self) -> None:
        """A dead link: nothing passes until ``stop()`` or ``dead_link_s`` has gone by."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._thaw.wait(), self.dead_link_s)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        error: OSError | None = None
        for target in self.targets:
            try:
                return await asyncio.open_connection(*target)
            except OSError as exc:
                error = exc
        assert error is not None
        raise error

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> bytes:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < _HEAD_LIMIT:
            chunk = await reader.read(4096)
            if not chunk:
                break
            head += chunk
        return head

    async def _pump(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool
    ) -> None:
        while True:
            data = await reader.read(65536)
            if link.frozen or (link.stalled_up if up else link.stalled_down):
                # Hold the socket open and let nothing through (this way, for a stall); stop
                # reading so the sender's buffers fill as they would on a dead link.
                await self._hold()
                return
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            if self.latency or self.jitter:
                await asyncio.sleep(self.latency + self._rng.uniform(0, self.jitter))
            if link.cut_mid_frame and len(data) > 1:
                writer.write(data[: len(data) // 2])
                with contextlib.suppress(OSError):
                    await writer.drain()
                link.abort()
                return
            writer.write(data)
            if up:
                self.bytes_up += len(data)
            else:
                self.bytes_down += len(data)
            await writer.drain()

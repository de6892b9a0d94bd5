"""The fault proxy itself: a link it froze stays silent, and is released after its hold, so a
long fault run does not keep every socket it ever froze."""

from __future__ import annotations

import asyncio

from tests.support.proxy import FaultProxy


async def test_a_frozen_link_is_silent_then_released_after_its_hold() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    upstream = await asyncio.start_server(echo, "127.0.0.1", 0)
    proxy = FaultProxy("127.0.0.1", upstream.sockets[0].getsockname()[1])
    proxy.dead_link_s = 1.0
    await proxy.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        assert await asyncio.wait_for(reader.readexactly(18), 2) == b"GET / HTTP/1.1\r\n\r\n"
        proxy.freeze()
        writer.write(b"ping")
        loop = asyncio.get_running_loop()
        frozen_at = loop.time()
        # Nothing comes back while frozen; then the proxy lets go of the link (EOF or reset).
        try:
            data = await asyncio.wait_for(reader.read(1024), 5)
        except ConnectionResetError:
            data = b""
        held = loop.time() - frozen_at
        assert data == b"", data
        assert 0.9 <= held < 3.0, held
        assert not proxy._links  # nothing kept
        writer.close()
    finally:
        await proxy.stop()
        upstream.close()

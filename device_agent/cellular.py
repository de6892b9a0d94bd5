"""SMS through a cellular modem's AT commands (3GPP TS 27.005, text mode) on a serial port.

The last path for an emergency: the uplink uses it only when neither the WebSocket nor HTTP
has reached the server for ``sms_after_s``. The text carries the event's kind and id, so the
server files it as the same event (stored once, whichever copy arrives first), in plain
ASCII so it fits one GSM-7 segment (160 characters)::

    ELDERCARE PANIC 0b6f…-… 2026-11-29T22:01:02.345678Z
    ELDERCARE FALL 0b6f…-… 2026-11-29T22:01:02.345678Z
    ELDERCARE PANIC 0b6f…-… 2026-11-29T22:01:02.345678Z TEST

The port is opened for each message and closed after it: an emergency is rare, and a modem
left in a half-finished command by an earlier failure must not block the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import termios
import time
import tty
from pathlib import Path

SMS_PREFIX = "ELDERCARE"
_FINAL = re.compile(rb"\r?\n?(OK|ERROR|\+CM[ES] ERROR:[^\r\n]*)\r\n")
_CMGS = re.compile(rb"\+CMGS:\s*(\d+)")


class ModemError(RuntimeError):
    """The modem answered an error, or nothing in time."""


def sms_text(body: str) -> str:
    """The SMS for an event, from its stored JSON body."""
    event = json.loads(body)
    payload = event.get("payload") or {}
    parts = [SMS_PREFIX, str(event["kind"]).upper(), str(event["id"]), str(event["occurred_at"])]
    if payload.get("test"):
        parts.append("TEST")
    return " ".join(parts)


class _Port:
    """A serial port in raw mode, read through the event loop."""

    def __init__(self, path: Path, baudrate: int) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            tty.setraw(self.fd)
            attrs = termios.tcgetattr(self.fd)
            speed = getattr(termios, f"B{baudrate}", termios.B115200)
            attrs[2] |= termios.CLOCAL | termios.CREAD
            attrs[4] = attrs[5] = speed
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        except BaseException:
            os.close(self.fd)
            raise
        self.buffer = b""
        self._data = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            chunk = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # the other end went away: stop listening, let the wait time out
            self._loop.remove_reader(self.fd)
        self.buffer += chunk
        self._data.set()

    def write(self, data: bytes) -> None:
        while data:
            try:
                written = os.write(self.fd, data)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            data = data[written:]

    async def wait_for(self, pattern: re.Pattern[bytes], within: float) -> re.Match[bytes]:
        deadline = self._loop.time() + within
        while (found := pattern.search(self.buffer)) is None:
            self._data.clear()
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                raise ModemError(f"no answer from the modem within {within:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._data.wait(), timeout=remaining)
        return found

    def close(self) -> None:
        self._loop.remove_reader(self.fd)
        os.close(self.fd)


class Modem:
    def __init__(
        self, path: Path | str, *, baudrate: int = 115200, timeout_s: float = 10.0
    ) -> None:
        self.path = Path(path)
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()

    async def send_sms(self, number: str, text: str) -> int:
        """Sends one text message; returns the network's message reference."""
        if "\x1a" in text or "\x1b" in text:
            raise ValueError("an SMS text cannot hold Ctrl-Z or Esc")
        async with self._lock:
            port = _Port(self.path, self.baudrate)
            try:
                port.write(b"\x1b")  # leaves a text prompt an earlier failure may have left open
                await self._command(port, "ATE0")
                await self._command(port, "AT+CMGF=1")
                port.buffer = b""
                port.write(f'AT+CMGS="{number}"\r'.encode("ascii"))
                await port.wait_for(re.compile(rb">|ERROR"), self.timeout_s)
                if b"ERROR" in port.buffer:
                    raise ModemError(f"the modem refused AT+CMGS: {port.buffer!r}")
                port.buffer = b""
                port.write(text.encode("ascii", "replace") + b"\x1a")
                # Sending waits for the network: allow longer than a plain command.
                final = await port.wait_for(_FINAL, self.timeout_s * 6)
                if final.group(1) != b"OK":
                    raise ModemError(f"SMS not sent: {final.group(1).decode(errors='replace')}")
                reference = _CMGS.search(port.buffer)
                return int(reference.group(1)) if reference else -1
            finally:
                port.close()

    async def _command(self, port: _Port, command: str) -> bytes:
        port.buffer = b""
        port.write(command.encode("ascii") + b"\r")
        final = await port.wait_for(_FINAL, self.timeout_s)
        if final.group(1) != b"OK":
            raise ModemError(f"{command}: {final.group(1).decode(errors='replace')}")
        return port.buffer

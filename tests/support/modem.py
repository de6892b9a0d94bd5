"""A cellular modem on a pseudo-terminal that answers AT commands (3GPP TS 27.005 text mode).

The agent opens ``path`` as it would ``/dev/ttyUSB2``. Supported: ``AT``, ``ATE0``/``ATE1``,
``AT+CMGF=1``, ``AT+CMGS="<number>"`` (the ``> `` prompt, then the text up to Ctrl-Z; Esc
cancels). With ``registered = False`` the modem has no network and refuses to send
(``+CMS ERROR: 331``). Every text sent is kept in ``sent``, and handed to ``on_sms`` (the
tests use it to play the carrier and Twilio: a signed webhook request to the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import tty
from collections.abc import Awaitable, Callable

SmsHandler = Callable[[str, str], Awaitable[None]]
_CMGS = re.compile(rb'^AT\+CMGS="?(\+?\d+)"?', re.IGNORECASE)


class SimulatedModem:
    def __init__(self, on_sms: SmsHandler | None = None) -> None:
        self.master, self._slave = pty.openpty()
        # Raw, as a real USB serial port is: no line discipline, no echo by the kernel.
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.on_sms = on_sms
        self.registered = True
        self.echo = True
        self.sent: list[tuple[str, str]] = []
        self.commands: list[str] = []
        self._buffer = b""
        self._text_to: str | None = None
        self._reference = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._readable)

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.master)
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        os.close(self.master)
        os.close(self._slave)

    def _write(self, data: bytes) -> None:
        os.write(self.master, data)

    def _readable(self) -> None:
        try:
            chunk = os.read(self.master, 4096)
        except OSError:
            return
        self._buffer += chunk
        self._process()

    def _process(self) -> None:
        while self._buffer:
            if self._text_to is not None:
                end = min(
                    (i for i in (self._buffer.find(b"\x1a"), self._buffer.find(b"\x1b")) if i >= 0),
                    default=-1,
                )
                if end < 0:
                    return
                body, mark = self._buffer[:end], self._buffer[end : end + 1]
                self._buffer = self._buffer[end + 1 :]
                number, self._text_to = self._text_to, None
                if mark == b"\x1b":
                    self._write(b"\r\nOK\r\n")
                    continue
                self._send(number, body.decode("ascii", "replace"))
                continue
            if self._buffer.startswith(b"\x1b"):
                self._buffer = self._buffer[1:]
                continue
            end = self._buffer.find(b"\r")
            if end < 0:
                return
            line, self._buffer = self._buffer[:end], self._buffer[end + 1 :].lstrip(b"\n")
            if self.echo:
                self._write(line + b"\r")
            self._command(line.strip())

    def _command(self, line: bytes) -> None:
        if not line:
            return
        self.commands.append(line.decode("ascii", "replace"))
        upper = line.upper()
        if upper in (b"AT", b"AT+CMGF=1"):
            self._write(b"\r\nOK\r\n")
        elif upper in (b"ATE0", b"ATE1"):
            self.echo = upper == b"ATE1"
            self._write(b"\r\nOK\r\n")
        elif (found := _CMGS.match(line)) is not None:
            if not self.registered:
                self._write(b"\r\n+CMS ERROR: 331\r\n")
                return
            self._text_to = found.group(1).decode()
            self._write(b"\r\n> ")
        else:
            self._write(b"\r\nERROR\r\n")

    def _send(self, number: str, text: str) -> None:
        self._reference += 1
        self.sent.append((number, text))
        self._write(f"\r\n+CMGS: {self._reference}\r\n\r\nOK\r\n".encode())
        if self.on_sms is not None and self._loop is not None:
            task = self._loop.create_task(self.on_sms(number, text))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

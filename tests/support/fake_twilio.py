"""A local fake of Twilio's REST API on loopback, for the real `twilio` SDK to talk to.

It records every request, answers with realistic bodies and SIDs, fails on demand (a status
code or a timeout for the next requests, or a share of all of them), and plays the phone's
part: it fetches a call's TwiML from the server, "presses" a key on its <Gather>, and posts
status callbacks, all signed with the SDK's own `RequestValidator` (or forged).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from typing import Any
from xml.etree import ElementTree

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from twilio.request_validator import RequestValidator

from tests.support.live import serve

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
FROM = "+6620000000"


@dataclass
class Recorded:
    kind: str  # "call" or "sms"
    sid: str
    form: dict[str, list[str]]
    at: float  # time.time() when the fake received it
    status: int

    def get(self, key: str) -> str:
        return self.form.get(key, [""])[0]

    @property
    def to(self) -> str:
        return self.get("To")


@dataclass
class FakeTwilio:
    url: str = ""
    token: str = AUTH_TOKEN
    requests: list[Recorded] = field(default_factory=list)
    # The next requests' outcomes by kind ("call", "sms"): an HTTP status or "timeout";
    # empty means 201.
    plan: dict[str, deque[int | str]] = field(
        default_factory=lambda: {"call": deque(), "sms": deque()}
    )
    failure_rate: float = 0.0
    timeout_seconds: float = 15.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self, kind: str | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.status == 201 and kind in (None, r.kind)]

    def wait_for(
        self, predicate: Callable[[list[Recorded]], bool], timeout: float = 15.0
    ) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.accepted()
            if predicate(got):
                return got
            time.sleep(0.02)
        got = self.accepted()
        raise AssertionError(
            f"the fake did not see what was expected in {timeout} s; it has {len(got)} "
            f"requests: {[(r.kind, r.to) for r in got[:20]]}"
        )

    # --- the phone's side ---------------------------------------------------------------

    def _signed_post(
        self, url: str, form: dict[str, str], *, forged: bool = False
    ) -> httpx.Response:
        token = "not-the-token" if forged else self.token
        signature = RequestValidator(token).compute_signature(url, form)
        return httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)

    def call_form(self, call: Recorded, **extra: str) -> dict[str, str]:
        return {
            "CallSid": call.sid,
            "AccountSid": ACCOUNT_SID,
            "From": call.get("From"),
            "To": call.to,
            "Direction": "outbound-api",
            **extra,
        }

    def answer(self, call: Recorded, *, answered_by: str = "human") -> str:
        """Picks up: the server's TwiML for the call's Url."""
        response = self._signed_post(
            call.get("Url"), self.call_form(call, CallStatus="in-progress", AnsweredBy=answered_by)
        )
        response.raise_for_status()
        return response.text

    def press(self, call: Recorded, twiml: str, digits: str) -> str:
        """Presses `digits` on the <Gather> of `twiml`; returns the server's next TwiML."""
        gather = ElementTree.fromstring(twiml).find("Gather")
        assert gather is not None, twiml
        response = self._signed_post(
            gather.attrib["action"], self.call_form(call, Digits=digits, CallStatus="in-progress")
        )
        response.raise_for_status()
        return response.text

    def callback(self, item: Recorded, status: str, *, forged: bool = False) -> httpx.Response:
        if item.kind == "call":
            form = self.call_form(item, CallStatus=status)
        else:
            form = {"MessageSid": item.sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
        return self._signed_post(item.get("StatusCallback"), form, forged=forged)


def _app(fake: FakeTwilio) -> FastAPI:
    app = FastAPI()

    async def handle(request: Request, sid: str, kind: str) -> JSONResponse:
        form = await request.form()
        values = {k: [str(v) for v in form.getlist(k)] for k in form}
        auth = request.headers.get("authorization", "")
        expected = httpx.BasicAuth(ACCOUNT_SID, fake.token)
        ok_auth = auth == next(expected.auth_flow(httpx.Request("GET", "/"))).headers.get(
            "authorization"
        )
        with fake.lock:
            queue = fake.plan[kind]
            outcome: int | str = queue.popleft() if queue else 201
            if outcome == 201 and fake.failure_rate and fake.rng.random() < fake.failure_rate:
                outcome = 503
        if not ok_auth or sid != ACCOUNT_SID:
            outcome = 401
        status = 504 if outcome == "timeout" else int(outcome)
        prefix = "CA" if kind == "call" else "SM"
        item = Recorded(kind, prefix + secrets.token_hex(16), values, time.time(), status)
        with fake.lock:
            fake.requests.append(item)
        if outcome == "timeout":  # recorded as it arrived; answered too late
            await asyncio.sleep(fake.timeout_seconds)
        if status != 201:
            code = 21211 if status == 400 else 20500 if status >= 500 else 20003
            return JSONResponse(
                {
                    "code": code,
                    "message": f"fake error {status}",
                    "more_info": "",
                    "status": status,
                },
                status_code=status,
            )
        body: dict[str, Any] = {
            "sid": item.sid,
            "account_sid": ACCOUNT_SID,
            "status": "queued",
            "to": item.to,
            "from": item.get("From"),
            "date_created": formatdate(usegmt=True),
            "error_code": None,
        }
        if kind == "sms":
            body.update(body=item.get("Body"), num_segments="1")
        return JSONResponse(body, status_code=201)

    @app.post("/2010-04-01/Accounts/{sid}/Calls.json")
    async def calls(request: Request, sid: str) -> JSONResponse:
        return await handle(request, sid, "call")

    @app.post("/2010-04-01/Accounts/{sid}/Messages.json")
    async def messages(request: Request, sid: str) -> JSONResponse:
        return await handle(request, sid, "sms")

    @app.get("/_fake/requests")
    async def recorded() -> JSONResponse:
        """What the fake received, for a test or bench running it in another process."""
        with fake.lock:
            items = list(fake.requests)
        return JSONResponse([asdict(item) for item in items])

    return app


@contextmanager
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    with serve(_app(fake)) as url:
        fake.url = url
        yield fake


class RemoteFakeTwilio:
    """A fake running in a process of its own (`fake_twilio_process`): the sender under test
    then shares neither its interpreter nor its GIL with the fake, as with the real Twilio."""

    def __init__(self, url: str) -> None:
        self.url = url

    def recorded(self) -> list[Recorded]:
        items = httpx.get(f"{self.url}/_fake/requests", timeout=30).json()
        return [Recorded(**item) for item in items]

    def accepted(self, kind: str | None = None) -> list[Recorded]:
        return [r for r in self.recorded() if r.status == 201 and kind in (None, r.kind)]

    def wait_for(
        self, predicate: Callable[[list[Recorded]], bool], timeout: float = 15.0
    ) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.accepted()
            if predicate(got):
                return got
            time.sleep(0.2)
        raise AssertionError(f"the fake did not see what was expected in {timeout} s")


@contextmanager
def fake_twilio_process(*, failure_rate: float = 0.0) -> Iterator[RemoteFakeTwilio]:
    """The fake in a separate process (`python -m tests.support.fake_twilio`)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.support.live import free_port

    port = free_port()
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_twilio", "--port", str(port),
         "--failure-rate", str(failure_rate)],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/_fake/requests", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the fake Twilio process did not start") from None
                time.sleep(0.1)
        yield RemoteFakeTwilio(url)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _main() -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="a fake Twilio REST API on loopback")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeTwilio(url=f"http://127.0.0.1:{args.port}", failure_rate=args.failure_rate)
    uvicorn.run(_app(fake), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    _main()

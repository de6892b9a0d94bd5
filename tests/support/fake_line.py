"""A local fake of the LINE Messaging API's push endpoint, and signed webhook events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.live import serve

ACCESS_TOKEN = "fake-line-access-token"
CHANNEL_SECRET = "fake-line-channel-secret"


@dataclass
class FakeLine:
    url: str = ""
    pushes: list[dict[str, Any]] = field(default_factory=list)
    plan: deque[int] = field(default_factory=deque)
    seen_keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self) -> list[dict[str, Any]]:
        with self.lock:
            return [p for p in self.pushes if p["status"] == 200]


def _app(fake: FakeLine) -> FastAPI:
    app = FastAPI()

    @app.post("/v2/bot/message/push")
    async def push(request: Request) -> JSONResponse:
        body = await request.json()
        key = request.headers.get("x-line-retry-key", "")
        ok = request.headers.get("authorization") == f"Bearer {ACCESS_TOKEN}"
        with fake.lock:
            status = fake.plan.popleft() if fake.plan else 200
            if not ok:
                status = 401
            if status == 200 and key in fake.seen_keys:
                status = 409  # LINE: this retry key was accepted already
            if status == 200:
                fake.seen_keys.add(key)
            fake.pushes.append({**body, "retry_key": key, "status": status, "at": time.time()})
        if status == 200:
            return JSONResponse({"sentMessages": [{"id": "1", "quoteToken": "q"}]})
        headers = {"x-line-accepted-request-id": "x"} if status == 409 else {}
        return JSONResponse({"message": f"fake {status}"}, status_code=status, headers=headers)

    return app


def text_event(user_id: str, text: str) -> dict[str, Any]:
    return {
        "destination": "Ufake",
        "events": [
            {
                "type": "message",
                "mode": "active",
                "timestamp": int(time.time() * 1000),
                "webhookEventId": uuid.uuid4().hex,
                "deliveryContext": {"isRedelivery": False},
                "replyToken": "r",
                "source": {"type": "user", "userId": user_id},
                "message": {"type": "text", "id": "1", "text": text, "quoteToken": "q"},
            }
        ],
    }


def signed(payload: dict[str, Any], secret: str = CHANNEL_SECRET) -> tuple[str, dict[str, str]]:
    body = json.dumps(payload)
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return body, {
        "x-line-signature": base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }


@contextmanager
def fake_line() -> Iterator[FakeLine]:
    fake = FakeLine()
    with serve(_app(fake)) as url:
        fake.url = url
        yield fake

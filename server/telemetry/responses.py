"""Counts every HTTP response by status class, for `eldercare_http_responses`."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.telemetry.instruments import observe_response


class ResponseCountMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def counted(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                observe_response(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, counted)
        except Exception:
            # Starlette answers an escaped exception with a 500 outside this middleware.
            if not started:
                observe_response(500)
            raise

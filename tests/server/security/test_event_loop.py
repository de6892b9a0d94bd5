"""Signing in reads the database off the event loop: with every pooled connection taken, a
request waiting for one does not stop the process answering everything else (a wait on the
loop there once wedged a server under 600 syncing tablets: the threads that would have given
connections back could not finish)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from server.auth.models import Role, User
from server.db import POOL_MAX_OVERFLOW, POOL_SIZE


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_request_waiting_for_the_pool_does_not_stop_the_process(
    app: FastAPI, live_url: str, users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:  # fmt: skip
    headers = auth(users[Role.CAREGIVER])
    assert httpx.get(f"{live_url}/api/v1/elders", headers=headers, timeout=10).status_code == 200
    held = [app.state.engine.connect() for _ in range(POOL_SIZE + POOL_MAX_OVERFLOW)]
    answers: list[int] = []
    waiting = threading.Thread(
        target=lambda: answers.append(
            httpx.get(f"{live_url}/api/v1/elders", headers=headers, timeout=60).status_code
        )
    )
    try:
        waiting.start()
        time.sleep(0.5)  # it is waiting for a connection now
        started = time.monotonic()
        static = httpx.get(f"{live_url}/static/favicon.svg", timeout=10)
        took = time.monotonic() - started
        assert static.status_code == 200
        assert took < 2.0, f"the process answered nothing for {took:.1f} s"
        assert waiting.is_alive() and answers == []
    finally:
        for connection in held:
            connection.close()
    waiting.join(timeout=30)
    assert answers == [200]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_more_requests_than_connections_and_threads_all_get_their_answer(
    app: FastAPI, live_url: str, users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:  # fmt: skip
    """150 tablets at once against 30 pooled connections and 40 worker threads: a request
    that kept its connection between steps waited for a thread while every thread waited
    for a connection, and all of them got a 500 after the pool's 30 s."""
    headers = auth(users[Role.CAREGIVER])

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=live_url, limits=limits, timeout=25) as client:
            answers = await asyncio.gather(
                *(client.get("/api/v1/elders", headers=headers) for _ in range(150)),
                return_exceptions=True,
            )
        return [a.status_code if isinstance(a, httpx.Response) else 0 for a in answers]

    started = time.monotonic()
    statuses = asyncio.run(burst())
    assert statuses.count(200) == 150, Counter(statuses)
    assert time.monotonic() - started < 20

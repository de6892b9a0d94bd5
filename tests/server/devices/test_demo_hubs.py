"""`eldercare demo`: the simulated hubs start only once the server answers its health check."""

from __future__ import annotations

import threading
import time

from fastapi import FastAPI
from sqlmodel import Session

from server.config import Settings
from server.devices.demo import simulated_hubs, wait_until_healthy
from tests.support.hubs import make_hub
from tests.support.live import free_port, serve


def test_the_health_wait_gives_up_on_a_closed_port_and_sees_a_live_server(app: FastAPI) -> None:
    stop = threading.Event()
    assert not wait_until_healthy(f"http://127.0.0.1:{free_port()}", stop=stop, timeout=0.5)
    with serve(app) as url:
        assert wait_until_healthy(url, stop=stop, timeout=5)
    stop.set()
    assert not wait_until_healthy(url, stop=stop, timeout=5)


def test_demo_hubs_wait_for_the_server(app: FastAPI, session: Session, settings: Settings) -> None:
    make_hub(session)
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    with simulated_hubs(settings, server_url=url, timeout=30) as never:
        assert never is not None
        time.sleep(0.5)
    assert never.process is None  # the demo ended before the server answered: no hub ran

    with simulated_hubs(settings, server_url=url, timeout=30) as hubs:
        assert hubs is not None
        time.sleep(1.0)
        assert hubs.process is None  # nothing listens yet, so no hub has started
        with serve(app, port=port):
            deadline = time.monotonic() + 10
            while hubs.process is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert hubs.process is not None and hubs.process.poll() is None
    assert hubs.process.poll() is not None  # and they stop with the demo

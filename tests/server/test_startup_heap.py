"""A server process's start-up objects are left out of the cyclic collector's full passes
while it runs (a full pass over them held a press for up to 270 ms) and its young generation
is collected less often; both are undone at shutdown (a process that starts many apps, as the
tests do, must free each one)."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from server.common.collector import GC_YOUNG_THRESHOLD
from server.config import Settings
from server.main import create_app


def test_start_up_objects_are_frozen_while_the_app_runs(settings: Settings) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/health").status_code == 200
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before

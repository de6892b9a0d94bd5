"""A live server wired to a local fake Twilio over loopback, with a short tick."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from server.config import Settings
from server.main import create_app
from server.notify.config import NotifySettings
from server.oncall.config import OncallSettings
from tests.server.conftest import TEST_SECRET
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio, fake_twilio
from tests.support.live import free_port, serve


@dataclass
class Live:
    url: str
    app: FastAPI
    fake: FakeTwilio


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with fake_twilio() as f:
        yield f


def phone_settings(db_url: str, tmp_path: Path, *, public_url: str, fake_url: str) -> Settings:
    return Settings(
        env="test",
        database_url=db_url,
        secret_key=TEST_SECRET,
        data_dir=tmp_path / "data",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=FROM,
        public_url=public_url,
        twilio_api_base=fake_url,
    )


@pytest.fixture
def live(db_url: str, tmp_path: Path, fake: FakeTwilio) -> Iterator[Live]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(phone_settings(db_url, tmp_path, public_url=url, fake_url=fake.url))
    app.state.oncall_settings = OncallSettings(tick_seconds=0.1)
    app.state.notify_settings = NotifySettings(
        request_timeout_seconds=1.0, backoff_seconds=0.2, backoff_max_seconds=1.0
    )
    with serve(app, port=port):
        yield Live(url, app, fake)
    app.state.engine.dispose()

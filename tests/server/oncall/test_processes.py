"""Several server processes on one database place each call once; a restart resumes a chain."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import Session, select

from server.alerts.models import AlertEvent
from server.common.time import utcnow
from server.db import make_engine
from server.notify.models import Channel, Notification
from server.notify.phones import to_e164
from server.oncall import policies
from server.oncall.models import AlertEscalation
from server.oncall.schemas import PolicyBody, PolicyStep, StepAction, Target
from tests.server.alerts.procs import stop_server, wait_ready
from tests.server.conftest import TEST_SECRET
from tests.server.oncall.helpers import (
    BACKUP_PHONE,
    DISPATCHER_PHONE,
    make_roster,
    save_short_policy,
)
from tests.support.alerts import raise_panic_alert as panic
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio
from tests.support.live import free_port
from tests.support.records import make_elder

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def phone_servers(
    db_url: str, fake: FakeTwilio, count: int
) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(count):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            env = {
                **os.environ,
                "ELDERCARE_DATABASE_URL": db_url,
                "ELDERCARE_SECRET_KEY": TEST_SECRET,
                "ELDERCARE_ENV": "test",
                "ELDERCARE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "ELDERCARE_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "ELDERCARE_TWILIO_FROM": FROM,
                "ELDERCARE_PUBLIC_URL": url,
                "ELDERCARE_TWILIO_API_BASE": fake.url,
                "ELDERCARE_ONCALL_TICK_SECONDS": "0.1",
                "ELDERCARE_NOTIFY_PER_NUMBER_PER_MINUTE": "100",
                "NO_PROXY": "127.0.0.1,localhost",
                "PYTHONPATH": str(ROOT),
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "server.main:create_app", "--factory",
                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                cwd=ROOT, env=env,
            )  # fmt: skip
            procs.append((proc, url))
        for proc, url in procs:
            wait_ready(proc, url)
        yield [p for p, _ in procs]
    finally:
        for proc, _ in procs:
            stop_server(proc)


def test_two_processes_place_each_call_exactly_once(
    db_url: str, fake: FakeTwilio, password_hash: str
) -> None:
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        make_roster(session, password_hash)
        save_short_policy(session)  # 2 s, 4 s, 6 s (+ SMS), then once more: 8, 10, 12 s
    with phone_servers(db_url, fake, 2):
        with Session(engine, expire_on_commit=False) as session:
            alerts = [panic(session, make_elder(session).id).alert_id for _ in range(4)]
        fake.wait_for(lambda got: len([r for r in got if r.kind == "call"]) >= 24, timeout=40)
        time.sleep(1.5)  # anything extra would show up now
    calls = fake.accepted("call")
    assert len(calls) == 24, Counter(c.to for c in calls)
    # One request per notification row (its id is in the TwiML URL), none twice.
    urls = Counter(c.get("Url").split("/voice/")[1].split("?")[0] for c in calls)
    assert set(urls.values()) == {1}
    with Session(engine) as session:
        rows = session.exec(select(Notification).where(Notification.channel == Channel.VOICE)).all()
        per_alert = Counter(r.subject_id for r in rows)
        assert per_alert == dict.fromkeys(alerts, 6)
        steps = Counter((r.subject_id, r.step, r.to) for r in rows)
        assert set(steps.values()) == {1}
        assert all(r.provider_ref for r in rows)
    engine.dispose()


def test_a_restart_mid_chain_resumes_it_with_the_latest_due_step(
    db_url: str, fake: FakeTwilio, password_hash: str
) -> None:
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        make_roster(session, password_hash)
        policies.save_policy(
            session,
            priority="RED",
            body=PolicyBody(
                steps=(
                    PolicyStep(after_seconds=3, action=StepAction.CALL, target=Target.DISPATCHER),
                    PolicyStep(after_seconds=6, action=StepAction.CALL, target=Target.SUPERVISOR),
                    PolicyStep(after_seconds=9, action=StepAction.CALL, target=Target.BACKUP),
                ),
            ),
            actor=None,
        )
        session.commit()
        elder = make_elder(session)
    with phone_servers(db_url, fake, 1):
        with Session(engine, expire_on_commit=False) as session:
            alert_id = panic(session, elder.id).alert_id
            chain = session.get(AlertEscalation, alert_id)
            assert chain is not None
            started = chain.started_at
        fake.wait_for(lambda got: any(r.kind == "call" for r in got), timeout=20)
    assert [c.to for c in fake.accepted("call")] == [to_e164(DISPATCHER_PHONE)]
    # The server is down while the supervisor's (6 s) and the backup's (9 s) steps come
    # due; the next one runs only the latest, and says on the timeline what it skipped.
    time.sleep(max(0.0, (started - utcnow()).total_seconds() + 10))
    with phone_servers(db_url, fake, 1):
        fake.wait_for(lambda got: len([r for r in got if r.kind == "call"]) >= 2, timeout=20)
        time.sleep(1.0)
    calls = [c.to for c in fake.accepted("call")]
    assert calls == [to_e164(DISPATCHER_PHONE), to_e164(BACKUP_PHONE)]
    with Session(engine) as session:
        rows = session.exec(select(Notification).where(Notification.channel == Channel.VOICE)).all()
        assert sorted((r.step, r.to) for r in rows) == [
            ("1.1", DISPATCHER_PHONE),
            ("1.3", BACKUP_PHONE),
        ]
        assert len({r.claimed_by for r in rows}) == 2  # two processes, one after the other
        skipped = session.exec(
            select(AlertEvent.params).where(
                AlertEvent.alert_id == alert_id, AlertEvent.action == "escalation_skipped"
            )
        ).all()
        assert [p["step"] for p in skipped] == ["1.2"]
    engine.dispose()

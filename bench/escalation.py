"""Escalation to the phone: step due → request at a (local, fake) Twilio, and sender throughput.

Usage: python bench/escalation.py [--db sqlite|postgresql] [--alerts 1000] [--messages 2000]

1. `--alerts` RED alerts are open, each with a call step due at a spread of times over ~20 s.
   The process's worker (0.25 s tick at most, the real twilio SDK, a fake Twilio on loopback
   in a process of its own) places the calls. Latency = when the fake received the request - the step's due time.
2. `--messages` SMS are queued at once; the fake (its own process) fails 5 % of requests
   with a 503, which the sender retries; `--concurrency` requests at once. Throughput = messages / time until all are sent; each message must reach
   the fake exactly once with a 201.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from datetime import time as dtime
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa
from sqlmodel import Session, col, select

import triage
from bench._common import database, machine_line, make_elders, summary
from server.alerts.models import AlertKind
from server.alerts.service import raise_alert
from server.auth.models import Role, User
from server.common.time import utcnow
from server.config import Settings
from server.db import make_engine
from server.notify import set_notifier
from server.notify.config import NotifySettings
from server.notify.models import Notification, NotificationStatus
from server.notify.sender import QueueingNotifier, send_due
from server.notify.twilio_api import TwilioTransport
from server.oncall import policies, roster
from server.oncall.config import OncallSettings
from server.oncall.models import AlertEscalation, Duty, TeamKind
from server.oncall.schemas import PolicyBody, PolicyStep, StepAction, Target
from server.oncall.worker import running
from server.wiring import install_domain_hooks
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, fake_twilio_process


def _settings(url: str, fake_url: str) -> Settings:
    return Settings(
        env="test",
        database_url=url,
        secret_key="bench-" + "x" * 40,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=FROM,
        public_url="http://127.0.0.1:9",
        twilio_api_base=fake_url,
    )


def _roster(session: Session) -> None:
    user = User(username="d", full_name="Dispatcher", role=Role.DISPATCHER,
                password_hash="x", phone="0811111111")  # fmt: skip
    session.add(user)
    session.flush()
    team = roster.add_team(session, name="Centre", kind=TeamKind.CENTRE)
    roster.add_shift(session, team_id=team.id, values={
        "name": "all", "duty": Duty.DISPATCHER, "weekdays": [], "starts": dtime(0),
        "ends": dtime(0, 0, 1), "user_id": user.id, "backup_user_id": None})  # fmt: skip
    roster.add_shift(session, team_id=team.id, values={
        "name": "rest", "duty": Duty.DISPATCHER, "weekdays": [], "starts": dtime(0, 0, 1),
        "ends": dtime(0), "user_id": user.id, "backup_user_id": None})  # fmt: skip
    policies.save_policy(
        session,
        priority="RED",
        body=PolicyBody(
            steps=(PolicyStep(after_seconds=60, action=StepAction.CALL, target=Target.DISPATCHER),)
        ),
        actor=None,
    )
    session.commit()


def _schedule(engine: sa.Engine, measured: int) -> dict[uuid.UUID, float]:
    """`measured` chains come due one every 0.5 s from 3 s from now."""
    with Session(engine) as session:
        chains = session.exec(select(AlertEscalation.alert_id)).all()
        start = utcnow() + timedelta(seconds=3)
        due: dict[uuid.UUID, float] = {}
        for i, alert_id in enumerate(chains[:measured]):
            at = start + timedelta(seconds=0.5 * i)
            due[alert_id] = at.timestamp()
            session.execute(
                sa.update(AlertEscalation)
                .where(col(AlertEscalation.alert_id) == alert_id)
                .values(next_due_at=at)
            )
        session.commit()
    return due


def step_latency(url: str, alerts: int, measured: int) -> None:
    """`alerts` open alerts wait (their next step in an hour); `measured` of them come due
    one every 0.5 s, and each step's call is timed from its due time to the fake."""
    engine = make_engine(url)
    notify = NotifySettings(per_number_per_minute=100_000)  # one dispatcher, many alerts
    with Session(engine, expire_on_commit=False) as session:
        _roster(session)
        for elder in make_elders(session, alerts):
            raise_alert(session, elder_id=elder.id, kind=AlertKind.PANIC,
                        priority=triage.Priority.RED,
                        reasons=[triage.Reason(key="triage.event.panic")])  # fmt: skip
        session.commit()
        session.execute(
            sa.update(AlertEscalation).values(next_due_at=utcnow() + timedelta(hours=1))
        )
        session.commit()
    with fake_twilio_process() as fake:
        settings = _settings(url, fake.url)
        previous = set_notifier(QueueingNotifier())
        try:
            transport = TwilioTransport(settings, connections=notify.concurrency)
            # Due times are set once the fake process is up: its start-up is not measured.
            due = _schedule(engine, measured)
            with running(engine, transport=transport, oncall=OncallSettings(), notify=notify):
                fake.wait_for(
                    lambda got: len([r for r in got if r.kind == "call"]) >= measured,
                    timeout=120,
                )
        finally:
            set_notifier(previous)
        calls = fake.accepted("call")
    with Session(engine) as session:
        owner = dict(session.exec(select(Notification.id, Notification.subject_id)).all())
    timed = sorted(
        (due[owner[uuid.UUID(call.get("Url").rsplit("/", 1)[1])]], call.at) for call in calls
    )
    lateness = [(at - due_at) * 1000 for due_at, at in timed]
    if os.environ.get("BENCH_VERBOSE"):
        print("  lateness in due order (ms):", " ".join(f"{x:.0f}" for x in lateness))
    print(
        f"step due → fake Twilio received the call ({alerts} open alerts, {measured} steps "
        f"due 0.5 s apart, 0.25 s tick): {summary(lateness)}"
    )
    print(f"  calls placed: {len(calls)} (expected {measured}); "
          f"duplicates: {len(calls) - len({c.get('Url') for c in calls})}")  # fmt: skip
    engine.dispose()


def throughput(url: str, messages: int, concurrency: int) -> None:
    engine = make_engine(url)
    notify = NotifySettings(
        backoff_seconds=0.05, backoff_max_seconds=0.5, max_attempts=10, concurrency=concurrency
    )
    with Session(engine, expire_on_commit=False) as session:
        notifier = QueueingNotifier()
        for i in range(messages):
            notifier.send_sms(session, to=f"08{i:08d}", template_key="notify.family.alert_opened",
                              params={"name": "สมศรี ใจดี"})  # fmt: skip
        session.commit()
    from concurrent.futures import ThreadPoolExecutor

    with fake_twilio_process(failure_rate=0.05) as fake:
        transport = TwilioTransport(_settings(url, fake.url), connections=notify.concurrency)
        pool = ThreadPoolExecutor(max_workers=notify.concurrency)
        started = time.monotonic()
        while True:
            send_due(engine, transport, settings=notify, pool=pool)
            with Session(engine) as session:
                left = session.exec(
                    select(sa.func.count()).select_from(Notification).where(
                        col(Notification.status).in_([NotificationStatus.QUEUED,
                                                      NotificationStatus.SENDING]))
                ).one()  # fmt: skip
            if not left:
                break
            if time.monotonic() - started > 300:
                raise SystemExit("throughput run did not finish in 5 minutes")
        elapsed = time.monotonic() - started
        pool.shutdown()
        tries = fake.recorded()
    accepted = Counter(r.get("StatusCallback") for r in tries if r.status == 201)
    failed = sum(1 for r in tries if r.status != 201)
    print(
        f"sender: {messages} SMS in {elapsed:.1f} s = {messages / elapsed:.0f} messages/s "
        f"(concurrency {notify.concurrency}); fake failed {failed} of {len(tries)} requests "
        f"({100 * failed / max(len(tries), 1):.1f} %), all retried"
    )
    twice = sum(1 for n in accepted.values() if n > 1)
    print(f"  accepted once: {len(accepted)} of {messages}; accepted twice: {twice}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--measured", type=int, default=60)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=NotifySettings().concurrency)
    args = parser.parse_args()
    install_domain_hooks()  # alerts opened here start their chains, as in the server
    print(machine_line())
    print(f"database: {args.db}")
    with database(args.db) as url:
        step_latency(url, args.alerts, args.measured)
    with database(args.db) as url:
        throughput(url, args.messages, args.concurrency)


if __name__ == "__main__":
    main()

"""A consultation waiting past its urgency's time texts the elder's care manager, once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server.auth.models import Role, User
from server.care.models import Consult, ConsultUrgency
from server.common.time import utcnow
from server.notify import render_message
from server.notify.config import NotifySettings
from server.notify.models import Channel, Notification
from server.oncall.config import OncallSettings
from server.oncall.worker import running
from server.telehealth.overdue import TEMPLATE, notify_overdue
from tests.support.records import make_elder

APP = "https://care.example.go.th"


def _manager(make_user: Callable[..., User], session: Session, phone: str | None) -> User:
    manager = make_user(Role.CARE_MANAGER)
    manager.phone, manager.locale = phone, "en"
    session.add(manager)
    session.commit()
    return manager


def _consult(session: Session, manager: User, urgency: ConsultUrgency, hours_ago: float) -> Consult:
    elder = make_elder(session, care_manager_id=manager.id, first_name="ทองคำ")
    consult = Consult(
        elder_id=elder.id, question="เวียนศีรษะหลังกินยาใหม่", urgency=urgency,
        created_at=utcnow() - timedelta(hours=hours_ago),
    )  # fmt: skip
    session.add(consult)
    session.commit()
    return consult


def _texts(session: Session) -> list[Notification]:
    session.expire_all()
    return list(
        session.exec(
            select(Notification).where(
                Notification.template_key == TEMPLATE, Notification.channel == Channel.SMS
            )
        ).all()
    )


def test_the_care_manager_is_texted_once_per_late_consultation(
    session: Session, engine: Engine, make_user: Callable[..., User]
) -> None:
    manager = _manager(make_user, session, "0812345678")
    late = _consult(session, manager, ConsultUrgency.URGENT, hours_ago=3)
    _consult(session, manager, ConsultUrgency.SOON, hours_ago=3)  # within its 24 h
    silent = _manager(make_user, session, None)
    unreachable = _consult(session, silent, ConsultUrgency.ROUTINE, hours_ago=80)

    assert notify_overdue(engine, app_url=APP) == 2
    [text] = _texts(session)
    assert text.to == "0812345678" and text.subject_id == late.id and text.locale == "en"
    body = render_message(text)
    assert body == (
        "A consultation (urgent) for an elder in your care has waited over 2 hours for a "
        f"clinician. Please follow up: {APP}/app/#/m/followups"
    )
    # Read on a lock screen: no name, no question.
    assert "ทองคำ" not in body and "เวียน" not in body
    session.expire_all()
    for consult in (late, unreachable):
        stored = session.get(Consult, consult.id)
        assert stored is not None and stored.overdue_notified_at is not None

    assert notify_overdue(engine, app_url=APP) == 0
    assert len(_texts(session)) == 1


def test_two_processes_looking_at_once_send_one_text(
    session: Session, engine: Engine, make_user: Callable[..., User]
) -> None:
    manager = _manager(make_user, session, "0812345678")
    for _ in range(5):
        _consult(session, manager, ConsultUrgency.URGENT, hours_ago=5)
    claimed: list[int] = []
    start = threading.Barrier(2)

    def look() -> None:
        start.wait()
        claimed.append(notify_overdue(engine, app_url=APP))

    threads = [threading.Thread(target=look) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(claimed) == 5
    texts = _texts(session)
    assert len(texts) == 5 and len({t.subject_id for t in texts}) == 5


def test_the_server_loop_looks_for_late_consultations(
    session: Session, engine: Engine, make_user: Callable[..., User]
) -> None:
    manager = _manager(make_user, session, "0899999999")
    late = _consult(session, manager, ConsultUrgency.URGENT, hours_ago=2.5)
    oncall = OncallSettings(worker=True, tick_seconds=0.1)
    with running(engine, transport=None, oncall=oncall, notify=NotifySettings(), app_url=APP):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _texts(session):
            time.sleep(0.1)
    assert [t.subject_id for t in _texts(session)] == [late.id]
    session.expire_all()
    assert session.exec(
        select(Consult.id).where(col(Consult.overdue_notified_at).is_not(None))
    ).all() == [late.id]

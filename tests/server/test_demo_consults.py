"""The demo gives the clinician and the care manager something to do: three questions from
caregivers, one of them waiting past its time."""

from __future__ import annotations

from sqlmodel import Session, select

from server.auth.models import User
from server.care.models import Consult
from server.common.time import utcnow
from server.config import Settings
from server.elders import service as elders
from server.seed import DEMO_CONSULTS, seed_demo
from server.telehealth.consults import is_overdue


def test_the_demo_has_open_consultations_for_the_clinician(
    session: Session, settings: Settings
) -> None:
    seed_demo(session, settings=settings)
    consults = session.exec(select(Consult)).all()
    assert len(consults) == len(DEMO_CONSULTS)
    assert [is_overdue(c, utcnow()) for c in consults].count(True) == 1
    clinician = session.exec(select(User).where(User.username == "clinician")).one()
    assert elders.visible_elder_ids(session, clinician) == {c.elder_id for c in consults}

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session, select

import triage
from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.observations import service
from server.observations.models import ObservationSource, ObservationValue
from tests.support.records import make_elder, new_id


def test_record_is_triaged_idempotent_and_history_is_audited(
    session: Session, users: dict[Role, User], auth: Callable[[User], dict[str, str]]
) -> None:
    elder = make_elder(session)
    obs_id = new_id()
    readings = [
        service.Reading("systolic", 185, "mm[Hg]"),
        service.Reading("diastolic", 95, "mm[Hg]"),
        service.Reading("pulse", 88, "/min"),
    ]
    at = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    first = service.record_observation(
        session, elder=elder, readings=readings, source=ObservationSource.DEVICE,
        observed_at=at, observation_id=obs_id,
    )  # fmt: skip
    session.commit()
    assert first.created
    assert first.assessment.priority is not None
    assert triage.priority_rank(first.assessment.priority) <= triage.priority_rank(
        triage.Priority.YELLOW
    )
    again = service.record_observation(
        session, elder=elder, readings=readings, source=ObservationSource.DEVICE,
        observed_at=at, observation_id=obs_id,
    )  # fmt: skip
    session.commit()
    assert not again.created
    assert len(session.exec(select(ObservationValue)).all()) == 3

    points = service.history(
        session, elder_id=elder.id, actor=users[Role.CARE_MANAGER], codes=["systolic"]
    )
    assert [(p.code, p.value) for p in points] == [("systolic", 185)]
    reads = session.exec(select(AuditEntry).where(AuditEntry.entity == "observations")).all()
    assert [(a.actor_username, a.elder_id) for a in reads] == [("care_manager", elder.id)]


def test_overrides_change_follow_up_and_are_visible(session: Session) -> None:
    elder = make_elder(session, chronic_conditions=["COPD"])
    reading = [service.Reading("spo2", 89, "%")]
    at = datetime(2026, 11, 1, tzinfo=UTC)
    plain = service.record_observation(
        session, elder=elder, readings=reading, source=ObservationSource.VISIT, observed_at=at
    )
    service.set_overrides(
        session, elder_id=elder.id, actor=None,
        overrides=triage.Overrides(spo2_scale=2, source="care-plan test"),
    )  # fmt: skip
    session.commit()
    scaled = service.record_observation(
        session, elder=elder, readings=reading, source=ObservationSource.VISIT, observed_at=at
    )
    assert plain.assessment.priority != scaled.assessment.priority
    assert scaled.assessment.overrides_applied

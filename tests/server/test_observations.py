from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session, select

import triage
from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.observations import service
from server.observations.models import Observation, ObservationSource, ObservationValue
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


def _spo2_set(elder: object, value: float, at: datetime) -> service.NewObservation:
    return service.NewObservation(
        elder=elder,  # type: ignore[arg-type]
        readings=[service.Reading("spo2", value, "%")],
        source=ObservationSource.DEVICE,
        observed_at=at,
        observation_id=new_id(),
    )


def test_batch_is_stored_once_with_targets_that_follow_the_care_plan(session: Session) -> None:
    elder = make_elder(session, chronic_conditions=["COPD"])
    at = datetime(2026, 11, 1, tzinfo=UTC)
    first = [_spo2_set(elder, 89, at), _spo2_set(elder, 97, at)]
    recorded = service.record_observations(session, [*first, first[0]])
    session.commit()
    # The same id twice in one batch and a re-sent batch are each stored once.
    assert [r.created for r in recorded] == [True, True, False]
    assert recorded[2].assessment == recorded[0].assessment
    again = service.record_observations(session, first)
    session.commit()
    assert [r.created for r in again] == [False, False]
    assert again[0].assessment == recorded[0].assessment
    assert len(session.exec(select(ObservationValue)).all()) == 2
    stored = session.get(Observation, first[0].observation_id)
    assert stored is not None and stored.triage == recorded[0].assessment.model_dump(mode="json")

    # A care plan sets scale 2 (the cache must not keep the old, empty targets) ...
    plain = recorded[0].assessment
    service.set_overrides(
        session, elder_id=elder.id, actor=None,
        overrides=triage.Overrides(spo2_scale=2, source="care-plan test"),
    )  # fmt: skip
    session.commit()
    (scaled,) = service.record_observations(session, [_spo2_set(elder, 89, at)])
    assert scaled.assessment.priority != plain.priority
    assert scaled.assessment.overrides_applied
    # ... and taking them away again is seen at once too.
    service.set_overrides(session, elder_id=elder.id, actor=None, overrides=None)
    session.commit()
    (back,) = service.record_observations(session, [_spo2_set(elder, 89, at)])
    assert back.assessment.priority == plain.priority
    assert not back.assessment.overrides_applied


def test_batch_gives_way_between_triage_steps(session: Session) -> None:
    elder = make_elder(session)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    items = [_spo2_set(elder, 97, at) for _ in range(service.TRIAGE_STEP * 3)]
    asked: list[int] = []

    def urgent() -> bool:
        asked.append(1)
        return len(asked) >= 2

    recorded = service.record_observations(session, items, yield_to=urgent)
    session.commit()
    # The first step always runs; the second look says stop: two steps are stored.
    assert len(recorded) == 2 * service.TRIAGE_STEP
    assert all(r.created for r in recorded)
    assert len(session.exec(select(ObservationValue)).all()) == 2 * service.TRIAGE_STEP

"""A small month of known data: every report figure in the tests is computed from this by hand."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from server.alerts.models import Alert, AlertKind, AlertStatus
from server.auth.models import User
from server.care.models import (
    Consult,
    ConsultStatus,
    ConsultUrgency,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    Visit,
    VisitStatus,
)
from server.devices.models import Device, DeviceKind, HubStatus
from server.elders.models import Elder
from server.observations.models import Observation, ObservationSource, ObservationValue
from server.reports.models import SatisfactionSurvey, SurveyContext
from tests.support.records import make_elder
from triage import Priority

# October 2026 in Bangkok is 2026-09-30 17:00 UTC .. 2026-10-31 17:00 UTC.
OCT = datetime(2026, 10, 10, 3, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 5, 3, 0, tzinfo=UTC)
COMMUNITY_A = "ชุมชนบ้านเหมือง"
COMMUNITY_B = '=HYPERLINK("http://x")'  # a hostile name: must stay text in CSV/xlsx


@dataclass
class Seeded:
    elders_a: list[Elder]
    elder_b: Elder
    alerts: dict[str, Alert]


def alert(
    session: Session, elder: Elder, created: datetime, *, kind: AlertKind = AlertKind.PANIC,
    priority: Priority = Priority.RED, status: AlertStatus = AlertStatus.RESOLVED,
    test: bool = False, ack: float | None = None, dispatch: float | None = None,
    scene: float | None = None, resolve: float | None = None,
) -> Alert:  # fmt: skip
    def at(seconds: float | None) -> datetime | None:
        return None if seconds is None else created + timedelta(seconds=seconds)

    row = Alert(
        elder_id=elder.id, kind=kind, priority=priority, status=status, test=test,
        occurred_at=created, created_at=created, last_pressed_at=created,
        acknowledged_at=at(ack), dispatched_at=at(dispatch), on_scene_at=at(scene),
        resolved_at=at(resolve),
    )  # fmt: skip
    session.add(row)
    return row


def observation(
    session: Session, elder: Elder, at: datetime, priority: str | None, values: dict[str, float]
) -> None:
    obs = Observation(
        id=uuid.uuid4(), elder_id=elder.id, source=ObservationSource.DEVICE, observed_at=at,
        priority=priority,
    )  # fmt: skip
    session.add(obs)
    session.flush()
    for code, value in values.items():
        session.add(
            ObservationValue(observation_id=obs.id, elder_id=elder.id, observed_at=at,
                             code=code, value=value, unit="x")
        )  # fmt: skip


def seed(session: Session, caregiver: User) -> Seeded:
    elders_a = [
        make_elder(session, community=COMMUNITY_A, caregiver_id=caregiver.id,
                   first_name=f"ลับเฉพาะ{i}", created_at=OCT - timedelta(days=60))
        for i in range(6)
    ]  # fmt: skip
    elder_b = make_elder(session, community=COMMUNITY_B, created_at=OCT)
    a0 = elders_a[0]
    alerts: dict[str, Alert] = {}
    # Six real panics in October, community A: ack 20..90 s, on scene for four of them.
    for i, (ack, scene) in enumerate([(20, 300), (30, 500), (40, 700), (50, 400), (70, None),
                                       (90, None)]):  # fmt: skip
        alerts[f"a{i}"] = alert(
            session, elders_a[i], OCT + timedelta(hours=i), ack=ack, dispatch=ack + 60,
            scene=scene, resolve=(scene or 0) + 1200,
        )  # fmt: skip
    # Counted apart, never timed.
    alert(session, a0, OCT, status=AlertStatus.FALSE_ALARM, ack=5)
    alert(session, a0, OCT, test=True, ack=5)
    alert(session, a0, OCT, test=True, ack=5)
    # A fall in community B; pressed at 01:00 on 1 October Bangkok time (still 30 Sep in UTC).
    alerts["b"] = alert(session, elder_b, datetime(2026, 9, 30, 18, 0, tzinfo=UTC),
                        kind=AlertKind.FALL, ack=100, scene=900)  # fmt: skip
    # A device problem: its own row, never in the emergency figures.
    alert(session, a0, OCT, kind=AlertKind.HUB_OFFLINE, priority=Priority.WHITE, ack=3000)
    # September and November: the trend only.
    alert(session, a0, OCT - timedelta(days=30), ack=200)
    alert(session, a0, NOW, ack=10)

    # Visits due in October for community A's caregiver: 3 done, 1 overdue; 1 cancelled.
    for i, status in enumerate([VisitStatus.COMPLETED] * 3 + [VisitStatus.SCHEDULED,
                                                             VisitStatus.CANCELLED]):  # fmt: skip
        session.add(
            Visit(elder_id=elders_a[i].id, assigned_to=caregiver.id, status=status,
                  due_by=OCT + timedelta(days=i), ended_at=(OCT + timedelta(days=i))
                  if status == VisitStatus.COMPLETED else None,
                  adl_score=10 if i == 0 else None)
        )  # fmt: skip
    # The elder's earlier assessment (September): social-bound, now home-bound.
    session.add(
        Visit(
            elder_id=a0.id,
            status=VisitStatus.COMPLETED,
            adl_score=14,
            due_by=OCT - timedelta(days=20),
            ended_at=OCT - timedelta(days=20),
        )
    )
    # Readings: a red BP (with its pulse), a yellow SpO2, a green BP, a red in November.
    observation(session, a0, OCT, "RED", {"systolic": 185, "diastolic": 100, "pulse": 130})
    observation(session, a0, OCT, "YELLOW", {"spo2": 93, "pulse": 95})
    observation(session, a0, OCT, "GREEN", {"systolic": 150, "diastolic": 90})
    observation(session, a0, NOW, "RED", {"glucose": 40})
    for hours in (6, 2):
        session.add(
            ReviewItem(kind=ReviewKind.ABNORMAL_READING, elder_id=a0.id, entity="observation",
                       status=ReviewStatus.RESOLVED, created_at=OCT,
                       resolved_at=OCT + timedelta(hours=hours))
        )  # fmt: skip
    session.add(ReviewItem(kind=ReviewKind.CRITICAL_READING, elder_id=a0.id, entity="observation",
                           created_at=OCT))  # fmt: skip
    session.add(Consult(elder_id=a0.id, question="?", urgency=ConsultUrgency.URGENT,
                        urgency_rank=0, status=ConsultStatus.ANSWERED, created_at=OCT,
                        answered_at=OCT + timedelta(hours=1)))  # fmt: skip
    session.add(Consult(elder_id=a0.id, question="?", urgency=ConsultUrgency.ROUTINE,
                        created_at=OCT))  # fmt: skip
    # Hubs: one heard a minute ago, one silent for two days; a panic button.
    for i, seen in enumerate([NOW - timedelta(minutes=1), NOW - timedelta(days=2)]):
        hub = Device(elder_id=elders_a[i].id, kind=DeviceKind.HUB, created_at=OCT)
        session.add(hub)
        session.flush()
        session.add(HubStatus(hub_id=hub.id, elder_id=elders_a[i].id, last_seen_at=seen))
    session.add(Device(elder_id=a0.id, kind=DeviceKind.PANIC_BUTTON, created_at=OCT))
    for score, subject in ((5, alerts["a0"]), (3, alerts["a1"])):
        session.add(
            SatisfactionSurvey(context=SurveyContext.ALERT, subject_id=subject.id,
                               elder_id=subject.elder_id, overall=score, answered_at=OCT)
        )  # fmt: skip
    session.commit()
    return Seeded(elders_a=elders_a, elder_b=elder_b, alerts=alerts)

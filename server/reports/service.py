"""The figures the programme is judged by: response times, care, programme and satisfaction.

Every report takes a `Scope` (month, community, team) and returns aggregates only: counts,
medians, shares. Nothing here returns a name or a reading of a person, so a report can be
shown, downloaded or posted without an audit row per elder.

Reports read other domains' tables directly (read-only, aggregated in SQL where the rows are
many, in Python where percentiles are needed), because a report is a view across domains.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func

from server.alerts.models import MAINTENANCE_KINDS, Alert, AlertKind, AlertStatus, Responder
from server.auth.models import User
from server.care.models import Consult, ReviewItem, ReviewKind, Visit, VisitStatus
from server.common.time import utcnow
from server.devices.models import Device, DeviceKind, HubStatus
from server.elders.models import Elder, ElderStatus
from server.eligibility.models import Application, Round
from server.eligibility.ranking import Outcome
from server.observations.models import Observation, ObservationValue
from server.reports import stats
from server.reports.models import SatisfactionSurvey, SurveyContext
from triage import Priority

# The programme's targets: answered within 60 s (telecare practice), on scene within 10 min.
ACK_TARGET_S = 60
ON_SCENE_TARGET_S = 600
MILESTONES = ("acknowledged", "dispatched", "on_scene", "resolved")
TARGETS: dict[str, int | None] = {
    "acknowledged": ACK_TARGET_S,
    "dispatched": None,
    "on_scene": ON_SCENE_TARGET_S,
    "resolved": None,
}
TREND_MONTHS = 12
HUB_OFFLINE_AFTER = timedelta(hours=24)
HUB_ONLINE_WITHIN = timedelta(minutes=15)
# Readings that need someone to act (GREEN waits for the next visit).
ABNORMAL_PRIORITIES = (Priority.RED.value, Priority.YELLOW.value)
# One reading set is counted once, under the measure it is about.
MEASURES = ("systolic", "spo2", "glucose", "temperature", "pulse")
ADL_GROUPS = ("social", "home", "bed")


@dataclass(frozen=True)
class Scope:
    """What a report covers: one calendar month (local time), optionally one community/team."""

    month: date  # the first day of the month
    community: str | None = None
    team: uuid.UUID | None = None  # a responder (emergency team): response figures only

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return stats.month_bounds(self.month)

    @property
    def key(self) -> str:
        return f"{self.month.year:04d}-{self.month.month:02d}"


def adl_group(score: int | None) -> str | None:
    """Thai elderly groups by Barthel ADL: social-bound ≥12, home-bound 5–11, bed-bound 0–4."""
    if score is None:
        return None
    return "social" if score >= 12 else "home" if score >= 5 else "bed"


# ---------------------------------------------------------------- response times


@dataclass
class Milestone:
    key: str
    count: int
    median_s: float | None
    p90_s: float | None
    target_s: int | None
    within_target: float | None  # share 0..1


@dataclass
class ResponseRow:
    month: str
    community: str
    kind: str
    priority: str
    alerts: int
    milestones: list[Milestone]


@dataclass
class TrendPoint:
    month: str
    alerts: int
    ack_median_s: float | None
    ack_within: float | None
    on_scene_median_s: float | None
    on_scene_within: float | None


@dataclass
class ResponseReport:
    month: str
    # Real alerts only: test presses and false alarms are counted apart, never timed here.
    alerts: int
    false_alarms: int
    test_presses: int
    cancelled: int
    false_alarm_rate: float | None  # of all non-test alerts
    test_press_rate: float | None  # of all alerts
    overall: list[Milestone]
    rows: list[ResponseRow]
    ack_seconds: list[float]
    on_scene_seconds: list[float]
    trend: list[TrendPoint]


def _positive(seconds: float | None) -> float | None:
    # Millisecond resolution: SQLite's julianday arithmetic carries float noise below that.
    return None if seconds is None else max(0.0, round(float(seconds), 3))


def _seconds_between(start: Any, end: Any, dialect: str) -> Any:
    """`end - start` in seconds, computed by the database (NULL when `end` is NULL)."""
    if dialect == "sqlite":
        return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0
    # date_part gives double precision; EXTRACT would give numeric (Decimal in Python).
    return sa.func.date_part("epoch", end - start)


def _local_month(moment: Any, dialect: str) -> Any:
    """ "2026-11": the month in Bangkok (UTC+7 all year: Thailand keeps no summer time)."""
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m", moment, "+7 hours")
    return sa.func.to_char(sa.func.timezone("Asia/Bangkok", moment), "YYYY-MM")


def _milestones(samples: dict[str, list[float]]) -> list[Milestone]:
    out = []
    for key in MILESTONES:
        values = samples.get(key, [])
        target = TARGETS[key]
        out.append(
            Milestone(
                key=key,
                count=len(values),
                median_s=stats.median(values),
                p90_s=stats.percentile(values, 0.9),
                target_s=target,
                within_target=stats.share_within(values, target) if target else None,
            )
        )
    return out


def response_report(session: Session, *, scope: Scope) -> ResponseReport:
    """Press → acknowledged / dispatched / on scene / resolved, for the month and a year's trend."""
    first = stats.add_months(scope.month, -(TREND_MONTHS - 1))
    start, end = stats.month_bounds(first, months=TREND_MONTHS)
    dialect = session.get_bind().dialect.name
    created = col(Alert.created_at)
    done_at = sa.func.coalesce(col(Alert.transported_at), col(Alert.resolved_at))
    # Durations and the local month come out of the database as plain numbers and text: a
    # year of alerts is then cheap to read (no datetime objects made per row).
    query = (
        sa.select(
            _local_month(created, dialect), col(Alert.kind), col(Alert.priority),
            col(Alert.status), col(Alert.test),
            _seconds_between(created, col(Alert.acknowledged_at), dialect),
            _seconds_between(created, col(Alert.dispatched_at), dialect),
            _seconds_between(created, col(Alert.on_scene_at), dialect),
            _seconds_between(created, done_at, dialect),
            col(Elder.community),
        )
        .join(Elder, col(Elder.id) == col(Alert.elder_id))
        .where(col(Alert.created_at) >= start, col(Alert.created_at) < end)
    )  # fmt: skip
    if scope.community:
        query = query.where(col(Elder.community) == scope.community)
    if scope.team:
        query = query.where(col(Alert.responder_id) == scope.team)
    month = scope.key
    groups: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    group_counts: dict[tuple[str, str, str], int] = defaultdict(int)
    overall: dict[str, list[float]] = defaultdict(list)
    by_month: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    month_counts: dict[str, int] = defaultdict(int)
    real = false_alarms = tests = cancelled = 0
    for row in session.execute(query):
        key, kind, priority, status, test, ack, disp, scene, done, community = row
        if key == month:
            if test:
                tests += 1
                continue
            if status == AlertStatus.FALSE_ALARM:
                false_alarms += 1
                continue
            if status == AlertStatus.CANCELLED:
                cancelled += 1
                continue
        elif test or status in (AlertStatus.FALSE_ALARM, AlertStatus.CANCELLED):
            continue
        times = {
            "acknowledged": _positive(ack),
            "dispatched": _positive(disp),
            "on_scene": _positive(scene),
            "resolved": _positive(done),
        }
        # Device problems get their own rows; the headline figures are emergencies only.
        emergency = kind not in MAINTENANCE_KINDS
        if emergency:
            month_counts[key] += 1
            for name, value in times.items():
                if value is not None:
                    by_month[key][name].append(value)
        if key != month:
            continue
        real += 1 if emergency else 0
        group = (community, str(kind), str(priority))
        group_counts[group] += 1
        for name, value in times.items():
            if value is not None:
                groups[group][name].append(value)
                if emergency:
                    overall[name].append(value)
    rows = [
        ResponseRow(month=month, community=g[0], kind=g[1], priority=g[2],
                    alerts=group_counts[g], milestones=_milestones(groups[g]))
        for g in sorted(group_counts, key=lambda g: (g[0], _priority_rank(g[2]), g[1]))
    ]  # fmt: skip
    trend = []
    for key in stats.month_keys(scope.month, TREND_MONTHS):
        samples = by_month.get(key, {})
        ack, scene = samples.get("acknowledged", []), samples.get("on_scene", [])
        trend.append(
            TrendPoint(
                month=key, alerts=month_counts.get(key, 0),
                ack_median_s=stats.median(ack), ack_within=stats.share_within(ack, ACK_TARGET_S),
                on_scene_median_s=stats.median(scene),
                on_scene_within=stats.share_within(scene, ON_SCENE_TARGET_S),
            )
        )  # fmt: skip
    all_alerts = real + false_alarms + tests + cancelled
    return ResponseReport(
        month=month, alerts=real, false_alarms=false_alarms, test_presses=tests,
        cancelled=cancelled,
        false_alarm_rate=stats.rate(false_alarms, all_alerts - tests),
        test_press_rate=stats.rate(tests, all_alerts),
        overall=_milestones(overall), rows=rows,
        ack_seconds=sorted(overall.get("acknowledged", [])),
        on_scene_seconds=sorted(overall.get("on_scene", [])), trend=trend,
    )  # fmt: skip


def _priority_rank(priority: str) -> int:
    order = [p.value for p in Priority]
    return order.index(priority) if priority in order else len(order)


# ---------------------------------------------------------------- care


@dataclass
class VisitRow:
    community: str
    caregiver: str  # the staff member's name, or "" for unassigned
    due: int
    done: int
    overdue: int


@dataclass
class AbnormalRow:
    measure: str
    priority: str
    readings: int


@dataclass
class ConsultRow:
    urgency: str
    requested: int
    answered: int
    median_h: float | None
    p90_h: float | None


@dataclass
class CareReport:
    month: str
    visits_due: int
    visits_done: int
    visits_overdue: int
    visits: list[VisitRow]
    abnormal: list[AbnormalRow]
    abnormal_total: int
    followed_up: int
    follow_up_median_h: float | None
    follow_up_p90_h: float | None
    consults: list[ConsultRow]
    adl_changes: dict[str, int]  # "social->home": n
    adl_assessed: int


def care_report(session: Session, *, scope: Scope, now: datetime | None = None) -> CareReport:
    now = now or utcnow()
    start, end = scope.bounds
    visits = _care_visits(session, scope=scope, start=start, end=end, now=now)
    abnormal = _abnormal_readings(session, scope=scope, start=start, end=end)
    follow = _follow_ups(session, scope=scope, start=start, end=end)
    consults = _consults(session, scope=scope, start=start, end=end)
    changes, assessed = _adl_changes(session, scope=scope, start=start, end=end)
    return CareReport(
        month=scope.key,
        visits_due=sum(v.due for v in visits),
        visits_done=sum(v.done for v in visits),
        visits_overdue=sum(v.overdue for v in visits),
        visits=visits,
        abnormal=abnormal,
        abnormal_total=sum(a.readings for a in abnormal),
        followed_up=len(follow),
        follow_up_median_h=stats.median(follow),
        follow_up_p90_h=stats.percentile(follow, 0.9),
        consults=consults,
        adl_changes=changes,
        adl_assessed=assessed,
    )


def _care_visits(
    session: Session, *, scope: Scope, start: datetime, end: datetime, now: datetime
) -> list[VisitRow]:
    done = sa.case((col(Visit.status) == VisitStatus.COMPLETED.value, 1), else_=0)
    overdue = sa.case(
        (
            sa.and_(
                col(Visit.status).in_([VisitStatus.SCHEDULED.value, VisitStatus.IN_PROGRESS.value,
                                       VisitStatus.MISSED.value]),
                col(Visit.due_by) < now,
            ),
            1,
        ),
        else_=0,
    )  # fmt: skip
    query = (
        sa.select(col(Elder.community), col(Visit.assigned_to), func.count(), func.sum(done), func.sum(overdue))
        .join(Elder, col(Elder.id) == col(Visit.elder_id))
        .where(
            col(Visit.due_by) >= start, col(Visit.due_by) < end,
            col(Visit.status) != VisitStatus.CANCELLED.value,
        )
        .group_by(col(Elder.community), col(Visit.assigned_to))
    )  # fmt: skip
    if scope.community:
        query = query.where(col(Elder.community) == scope.community)
    rows = session.execute(query).all()
    names = _user_names(session, {r[1] for r in rows if r[1] is not None})
    out = [
        VisitRow(community=community, caregiver=names.get(user_id, "") if user_id else "",
                 due=int(due or 0), done=int(done_n or 0), overdue=int(over or 0))
        for community, user_id, due, done_n, over in rows
    ]  # fmt: skip
    return sorted(out, key=lambda r: (r.community, r.caregiver))


def _user_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.execute(
        sa.select(col(User.id), col(User.full_name)).where(col(User.id).in_(ids))
    ).all()
    return dict(rows)


def _abnormal_readings(
    session: Session, *, scope: Scope, start: datetime, end: datetime
) -> list[AbnormalRow]:
    """Abnormal reading sets by what they measured; a BP cuff's pulse counts as blood pressure."""
    query = (
        # The set's id as text: it is only a grouping key here.
        sa.select(sa.cast(col(ObservationValue.observation_id), sa.String),
                  col(ObservationValue.code), col(Observation.priority))
        .select_from(Observation)
        .join(ObservationValue, col(Observation.id) == col(ObservationValue.observation_id))
        .where(
            # Driven from the observations' time index: a month of abnormal sets, then their values.
            col(Observation.observed_at) >= start, col(Observation.observed_at) < end,
            col(ObservationValue.code).in_(MEASURES),
            col(Observation.priority).in_(ABNORMAL_PRIORITIES),
        )
    )  # fmt: skip
    if scope.community:
        query = query.join(Elder, col(Elder.id) == col(Observation.elder_id)).where(
            col(Elder.community) == scope.community
        )
    sets: dict[str, tuple[int, str]] = {}
    for observation_id, code, priority in session.execute(query).all():
        rank = MEASURES.index(code)
        known = sets.get(observation_id)
        if known is None or rank < known[0]:
            sets[observation_id] = (rank, str(priority))
    counted: dict[tuple[int, str], int] = defaultdict(int)
    for rank, priority in sets.values():
        counted[(rank, priority)] += 1
    return [
        AbnormalRow(measure=MEASURES[rank], priority=priority, readings=n)
        for (rank, priority), n in sorted(
            counted.items(), key=lambda kv: (kv[0][0], _priority_rank(kv[0][1]))
        )
    ]


def _follow_ups(session: Session, *, scope: Scope, start: datetime, end: datetime) -> list[float]:
    """Hours from an abnormal reading's review item to a care manager resolving it."""
    dialect = session.get_bind().dialect.name
    query = (
        sa.select(_seconds_between(col(ReviewItem.created_at), col(ReviewItem.resolved_at),
                                   dialect))
        .where(
            col(ReviewItem.kind).in_([ReviewKind.ABNORMAL_READING.value,
                                      ReviewKind.CRITICAL_READING.value]),
            col(ReviewItem.created_at) >= start, col(ReviewItem.created_at) < end,
            col(ReviewItem.resolved_at).is_not(None),
        )
    )  # fmt: skip
    if scope.community:
        query = query.join(Elder, col(Elder.id) == col(ReviewItem.elder_id)).where(
            col(Elder.community) == scope.community
        )
    return [
        round(float(seconds), 3) / 3600
        for (seconds,) in session.execute(query).all()
        if seconds is not None
    ]


def _consults(
    session: Session, *, scope: Scope, start: datetime, end: datetime
) -> list[ConsultRow]:
    query = sa.select(
        col(Consult.urgency), col(Consult.created_at), col(Consult.answered_at)
    ).where(col(Consult.created_at) >= start, col(Consult.created_at) < end)
    if scope.community:
        query = query.join(Elder, col(Elder.id) == col(Consult.elder_id)).where(
            col(Elder.community) == scope.community
        )
    requested: dict[str, int] = defaultdict(int)
    answered: dict[str, list[float]] = defaultdict(list)
    for urgency, created, answered_at in session.execute(query).all():
        requested[str(urgency)] += 1
        if answered_at is not None:
            answered[str(urgency)].append((answered_at - created).total_seconds() / 3600)
    order = ["urgent", "soon", "routine"]
    return [
        ConsultRow(urgency=u, requested=requested[u], answered=len(answered[u]),
                   median_h=stats.median(answered[u]), p90_h=stats.percentile(answered[u], 0.9))
        for u in sorted(requested, key=lambda u: order.index(u) if u in order else 9)
    ]  # fmt: skip


def _adl_changes(
    session: Session, *, scope: Scope, start: datetime, end: datetime
) -> tuple[dict[str, int], int]:
    """Group changes at assessments in the month, against each elder's previous assessment."""
    earlier = sa.orm.aliased(Visit)
    # Each assessment of the month looks up only its own elder's one before it (an index walk
    # per row), rather than ranking a year of every elder's visits.
    previous_score = (
        sa.select(col(earlier.adl_score))
        .where(
            col(earlier.elder_id) == col(Visit.elder_id),
            col(earlier.ended_at) < col(Visit.ended_at),
            col(earlier.adl_score).is_not(None),
            col(earlier.status) == VisitStatus.COMPLETED.value,
        )
        .order_by(col(earlier.ended_at).desc())
        .limit(1)
        .scalar_subquery()
    )
    # The month's range picks the rows (by the ended_at index); the status is checked on them
    # in Python, or SQLite walks every completed visit by the status index instead.
    query = sa.select(col(Visit.adl_score), previous_score, col(Visit.status)).where(
        col(Visit.adl_score).is_not(None), col(Visit.ended_at) >= start, col(Visit.ended_at) < end
    )
    if scope.community:
        query = query.join(Elder, col(Elder.id) == col(Visit.elder_id)).where(
            col(Elder.community) == scope.community
        )
    rows = [
        (score, previous)
        for score, previous, status in session.execute(query).all()
        if status == VisitStatus.COMPLETED.value
    ]
    changes: dict[str, int] = defaultdict(int)
    for score, before in rows:
        after_group, before_group = adl_group(score), adl_group(before)
        if before_group is not None and after_group is not None and before_group != after_group:
            changes[f"{before_group}->{after_group}"] += 1
    return dict(sorted(changes.items())), len(rows)


# ---------------------------------------------------------------- programme


@dataclass
class ProgrammeReport:
    month: str
    registered: int  # on the registry at the month's end (any status)
    registered_in_month: int
    enrolled: int
    served: int  # had a completed visit or a real alert in the month
    by_status: dict[str, int]
    devices_installed: dict[str, int]
    hubs_installed: int
    hubs_online: int
    hubs_offline_24h: int
    rounds: list[dict[str, object]]


def programme_report(
    session: Session, *, scope: Scope, now: datetime | None = None
) -> ProgrammeReport:
    now = now or utcnow()
    start, end = scope.bounds

    def in_scope(query: Any) -> Any:
        if scope.community:
            return query.where(col(Elder.community) == scope.community)
        return query

    status_rows = session.execute(
        in_scope(
            sa.select(col(Elder.status), func.count())
            .where(col(Elder.created_at) < end)
            .group_by(col(Elder.status))
        )
    ).all()
    by_status = {str(s): int(n) for s, n in status_rows}
    registered_in_month = session.execute(
        in_scope(sa.select(func.count()).select_from(Elder)
                 .where(col(Elder.created_at) >= start, col(Elder.created_at) < end))
    ).scalar_one()  # fmt: skip
    visited = in_scope(
        sa.select(col(Visit.elder_id))
        .join(Elder, col(Elder.id) == col(Visit.elder_id))
        .where(col(Visit.status) == VisitStatus.COMPLETED.value,
               col(Visit.ended_at) >= start, col(Visit.ended_at) < end)
    )  # fmt: skip
    alerted = in_scope(
        sa.select(col(Alert.elder_id))
        .join(Elder, col(Elder.id) == col(Alert.elder_id))
        .where(col(Alert.created_at) >= start, col(Alert.created_at) < end,
               col(Alert.test).is_(False),
               col(Alert.kind).in_([AlertKind.PANIC.value, AlertKind.FALL.value,
                                    AlertKind.VITALS.value]),
               col(Alert.status).not_in([AlertStatus.FALSE_ALARM.value,
                                         AlertStatus.CANCELLED.value]))
    )  # fmt: skip
    served_ids = sa.union(visited, alerted).subquery()
    served = session.execute(sa.select(func.count()).select_from(served_ids)).scalar_one()
    device_rows = session.execute(
        in_scope(
            sa.select(col(Device.kind), func.count())
            .join(Elder, col(Elder.id) == col(Device.elder_id))
            .where(col(Device.active).is_(True), col(Device.created_at) < end)
            .group_by(col(Device.kind))
        )
    ).all()
    devices = {str(k): int(n) for k, n in device_rows}
    hub_rows = session.execute(
        in_scope(
            sa.select(col(HubStatus.last_seen_at))
            .join(Device, col(Device.id) == col(HubStatus.hub_id))
            .join(Elder, col(Elder.id) == col(Device.elder_id))
            .where(col(Device.active).is_(True), col(Device.kind) == DeviceKind.HUB.value)
        )
    ).all()
    online = sum(1 for (seen,) in hub_rows if now - seen <= HUB_ONLINE_WITHIN)
    offline_24h = sum(1 for (seen,) in hub_rows if now - seen > HUB_OFFLINE_AFTER)
    rounds = _rounds(session, scope=scope, end=end)
    return ProgrammeReport(
        month=scope.key,
        registered=sum(by_status.values()),
        registered_in_month=int(registered_in_month),
        enrolled=by_status.get(ElderStatus.ENROLLED.value, 0),
        served=int(served),
        by_status=by_status,
        devices_installed=devices,
        hubs_installed=devices.get(DeviceKind.HUB.value, 0),
        hubs_online=online,
        hubs_offline_24h=offline_24h,
        rounds=rounds,
    )


def _rounds(session: Session, *, scope: Scope, end: datetime) -> list[dict[str, object]]:
    selected = sa.case((col(Application.outcome) == Outcome.SELECTED.value, 1), else_=0)
    query = (
        sa.select(col(Round.code), col(Round.status), col(Round.devices), col(Round.opens_at),
               func.count(col(Application.id)), func.coalesce(func.sum(selected), 0))
        .join(Application, col(Application.round_id) == col(Round.id), isouter=True)
        .where(col(Round.opens_at) < end)
        .group_by(col(Round.id), col(Round.code), col(Round.status), col(Round.devices), col(Round.opens_at))
        .order_by(col(Round.opens_at))
    )  # fmt: skip
    if scope.community:
        query = query.where(
            sa.or_(col(Application.id).is_(None), col(Application.community) == scope.community)
        )
    return [
        {"code": code, "status": str(status), "devices": devices, "opens_at": opens,
         "applications": int(apps), "selected": int(sel)}
        for code, status, devices, opens, apps, sel in session.execute(query).all()
    ]  # fmt: skip


# ---------------------------------------------------------------- satisfaction


@dataclass
class SatisfactionPoint:
    month: str
    context: str
    answers: int
    mean: float | None
    satisfied: float | None  # share answering 4 or 5 of 5


@dataclass
class SatisfactionReport:
    month: str
    points: list[SatisfactionPoint] = field(default_factory=list)

    def for_month(self, month: str) -> list[SatisfactionPoint]:
        return [p for p in self.points if p.month == month]


def satisfaction_report(session: Session, *, scope: Scope) -> SatisfactionReport:
    first = stats.add_months(scope.month, -(TREND_MONTHS - 1))
    start, end = stats.month_bounds(first, months=TREND_MONTHS)
    query = sa.select(
        col(SatisfactionSurvey.answered_at),
        col(SatisfactionSurvey.context),
        col(SatisfactionSurvey.overall),
    ).where(col(SatisfactionSurvey.answered_at) >= start, col(SatisfactionSurvey.answered_at) < end)
    if scope.community:
        query = query.join(Elder, col(Elder.id) == col(SatisfactionSurvey.elder_id)).where(
            col(Elder.community) == scope.community
        )
    scores: dict[tuple[str, str], list[int]] = defaultdict(list)
    for answered, context, overall in session.execute(query).all():
        scores[(stats.month_key(answered), str(context))].append(overall)
    points = []
    for month in stats.month_keys(scope.month, TREND_MONTHS):
        for context in SurveyContext:
            values = scores.get((month, context.value), [])
            points.append(
                SatisfactionPoint(
                    month=month, context=context.value, answers=len(values),
                    mean=sum(values) / len(values) if values else None,
                    satisfied=stats.share_within([-v for v in values], -4) if values else None,
                )
            )  # fmt: skip
    return SatisfactionReport(month=scope.key, points=points)


# ---------------------------------------------------------------- filters


def communities(session: Session) -> list[str]:
    query = sa.select(col(Elder.community)).distinct().order_by(col(Elder.community))
    return list(session.execute(query).scalars())


def teams(session: Session) -> list[tuple[uuid.UUID, str]]:
    rows = session.execute(
        sa.select(col(Responder.id), col(Responder.name)).where(col(Responder.active).is_(True))
        .order_by(col(Responder.name))
    ).all()  # fmt: skip
    return [(rid, name) for rid, name in rows]


def months_with_data(session: Session, *, now: datetime | None = None) -> list[str]:
    """The last year's months, newest first, for the month filter."""
    today = (now or utcnow()).date()
    return list(reversed(stats.month_keys(date(today.year, today.month, 1), TREND_MONTHS)))

"""Reading alerts for the API and the console: the queue, one alert with its card."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlmodel import Session, col, select

import triage
from server.alerts.access import clinical_open, emergency_clause
from server.alerts.lifecycle import allowed_actions
from server.alerts.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertKind,
    AlertStatus,
    Responder,
)
from server.alerts.schemas import (
    AlertDetail,
    AlertOut,
    ContactCard,
    ElderCard,
    ReadingOut,
    ReasonOut,
    ResponderOut,
    TimelineItem,
)
from server.audit import service as audit
from server.auth.models import User
from server.common.time import utcnow
from server.elders import service as elders
from server.elders.models import Elder
from server.errors import ApiError
from server.i18n import Locale, translate
from server.observations import service as observations
from triage.reasons import DISCLAIMER, NEWS2_NOT_VALIDATED

READINGS_LOOKBACK = timedelta(days=30)
# Stored units are UCUM codes (FHIR); people read them in their own words.
UNIT_KEYS = {
    "mm[Hg]": "mmhg",
    "mmHg": "mmhg",
    "/min": "per_min",
    "Cel": "celsius",
    "°C": "celsius",
    "%": "percent",
    "mg/dL": "mg_dl",
    "mmol/L": "mmol_l",
}


def unit_text(unit: str, locale: Locale) -> str:
    key = UNIT_KEYS.get(unit)
    return translate(f"alerts.unit.{key}", locale) if key else unit


CARD_FIELDS = (
    "name",
    "age",
    "address",
    "access_notes",
    "chronic_conditions",
    "medications",
    "allergies",
    "emergency_contacts",
    "readings",
)
CARD_IDENTITY_FIELDS = ("name", "age", "address", "access_notes", "emergency_contacts")

# A queue row is read at a glance at 3 a.m., so it names only what is wrong. Disclaimers, the
# NEWS2 parameters a home kit cannot measure, advice, care-plan notes, normal findings and
# texts that repeat the alert's kind or its test badge stay on the card.
ROW_REASONS = 2
CARD_ONLY_REASONS = frozenset(
    {
        DISCLAIMER,
        NEWS2_NOT_VALIDATED,
        "triage.news2.scale_2",
        "triage.news2.full.none",
        "triage.news2.partial.none",
        "triage.bp.normal",
        "triage.bp.elevated",
        "triage.bp.thai.optimal",
        "triage.bp.thai.normal",
        "triage.bp.thai.high_normal",
        "triage.bp.incomplete",
        "triage.bp.remeasure",
        "triage.bp.symptoms_call_1669",
        "triage.glucose.in_range",
        "triage.glucose.converted",
        "triage.glucose.hypo_treat",
        "triage.spo2.normal",
        "triage.spo2.on_oxygen",
        "triage.event.panic",
        "triage.event.fall",
        "triage.event.test",
        "triage.event.vitals",
        "triage.event.vitals_normal",
        "triage.event.heartbeat",
        "triage.event.missed_checkin",
        "triage.event.low_battery",
        "triage.event.battery_ok",
        "triage.event.device_status.connected",
    }
)
CARD_ONLY_PREFIXES = ("triage.news2.missing.", "triage.override.", "triage.bp.rule_set.")


def shown_in_row(key: str) -> bool:
    return key not in CARD_ONLY_REASONS and not key.startswith(CARD_ONLY_PREFIXES)


def _reasons(alert: Alert, locale: Locale) -> list[ReasonOut]:
    return [
        ReasonOut(key=r["key"], text=translate(r["key"], locale, **r.get("params", {})))
        for r in alert.reasons
    ]


# A partial NEWS2 band is a clinician's reading; a row names it only when nothing plainer does.
ROW_FALLBACK_PREFIXES = ("triage.news2.partial.", "triage.news2.full.")


def row_reasons(reasons: Sequence[ReasonOut]) -> list[ReasonOut]:
    """The first reasons worth a row; triage lists the most urgent explanation first."""
    shown = [r for r in reasons if shown_in_row(r.key)]
    plain = [r for r in shown if not r.key.startswith(ROW_FALLBACK_PREFIXES)]
    return (plain or shown)[:ROW_REASONS]


def to_out(
    alert: Alert,
    *,
    elder: Elder | None,
    acknowledged_by: User | None,
    responder: Responder | None,
    locale: Locale,
) -> AlertOut:
    reasons = _reasons(alert, locale)
    return AlertOut(
        id=alert.id,
        elder_id=alert.elder_id,
        elder_name=elders.display_name(elder) if elder else "?",
        elder_age=elders.age_on(elder.birth_date) if elder else None,
        community=elder.community if elder else None,
        kind=alert.kind,
        priority=alert.priority,
        status=alert.status,
        test=alert.test,
        risk=alert.risk,
        reasons=reasons,
        row_reasons=row_reasons(reasons),
        created_at=alert.created_at,
        occurred_at=alert.occurred_at,
        due_at=alert.due_at,
        press_count=alert.press_count,
        last_pressed_at=alert.last_pressed_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by_name=acknowledged_by.full_name if acknowledged_by else None,
        dispatched_at=alert.dispatched_at,
        responder=ResponderOut.model_validate(responder) if responder else None,
        on_scene_at=alert.on_scene_at,
        transported_at=alert.transported_at,
        resolved_at=alert.resolved_at,
        closed_at=alert.closed_at,
        close_reason=alert.close_reason,
        seconds_to_acknowledge=alert.seconds_to_acknowledge,
        seconds_to_on_scene=alert.seconds_to_on_scene,
        escalated=alert.escalated_at is not None,
        sla_breached=alert.sla_breached,
        version=alert.version,
        alarm=alert.status == AlertStatus.NEW
        and (alert.priority == triage.Priority.RED or alert.escalated_at is not None),
        actions=[a.value for a in allowed_actions(alert.status)],
    )


def _many_out(session: Session, alerts: Sequence[Alert], locale: Locale) -> list[AlertOut]:
    elder_ids = {a.elder_id for a in alerts}
    user_ids = {a.acknowledged_by for a in alerts if a.acknowledged_by}
    responder_ids = {a.responder_id for a in alerts if a.responder_id}
    elder_map = (
        {e.id: e for e in session.exec(select(Elder).where(col(Elder.id).in_(elder_ids)))}
        if elder_ids
        else {}
    )
    user_map = (
        {u.id: u for u in session.exec(select(User).where(col(User.id).in_(user_ids)))}
        if user_ids
        else {}
    )
    responder_map = (
        {
            r.id: r
            for r in session.exec(select(Responder).where(col(Responder.id).in_(responder_ids)))
        }
        if responder_ids
        else {}
    )
    return [
        to_out(
            a,
            elder=elder_map.get(a.elder_id),
            acknowledged_by=user_map.get(a.acknowledged_by) if a.acknowledged_by else None,
            responder=responder_map.get(a.responder_id) if a.responder_id else None,
            locale=locale,
        )
        for a in alerts
    ]


def open_queue(session: Session, *, locale: Locale, now: datetime | None = None) -> list[AlertOut]:
    """Open alerts in console order (triage.order_alerts)."""
    alerts = session.exec(select(Alert).where(col(Alert.status).in_(OPEN_STATUSES))).all()
    return triage.order_alerts(_many_out(session, alerts, locale), now=now or utcnow())


def open_alerts(session: Session, *, ids: Collection[uuid.UUID], locale: Locale) -> list[AlertOut]:
    """Those of `ids` that are still open, unordered: what a console re-reads on a change."""
    if not ids:
        return []
    alerts = session.exec(
        select(Alert).where(col(Alert.id).in_(ids), col(Alert.status).in_(OPEN_STATUSES))
    ).all()
    return _many_out(session, alerts, locale)


def list_alerts(
    session: Session,
    *,
    locale: Locale,
    state: str = "all",
    priority: triage.Priority | None = None,
    kind: AlertKind | None = None,
    status: AlertStatus | None = None,
    elder_id: uuid.UUID | None = None,
    test: bool | None = None,
    limit: int = 100,
    emergency_only: bool = False,
) -> list[AlertOut]:
    """Open alerts first (in console order), then closed ones, newest closed first.
    `emergency_only`: only alerts within the dispatcher's window (server/alerts/access.py)."""
    query = select(Alert)
    if emergency_only:
        query = query.where(emergency_clause())  # type: ignore[arg-type]
    if priority:
        query = query.where(Alert.priority == priority)
    if kind:
        query = query.where(Alert.kind == kind)
    if status:
        query = query.where(Alert.status == status)
    if elder_id:
        query = query.where(Alert.elder_id == elder_id)
    if test is not None:
        query = query.where(Alert.test == test)
    found: list[AlertOut] = []
    if state in ("open", "all"):
        opened = session.exec(query.where(col(Alert.status).in_(OPEN_STATUSES))).all()
        found = triage.order_alerts(_many_out(session, opened, locale), now=utcnow())[:limit]
    if state in ("closed", "all") and len(found) < limit:
        closed = session.exec(
            query.where(col(Alert.status).in_(CLOSED_STATUSES))
            .order_by(col(Alert.closed_at).desc())
            .limit(limit - len(found))
        ).all()
        found.extend(_many_out(session, closed, locale))
    return found


def get_out(session: Session, *, alert_id: uuid.UUID, locale: Locale) -> AlertOut:
    alert = session.get(Alert, alert_id, populate_existing=True)
    if alert is None:
        raise ApiError(404, "not_found", "common.not_found")
    return _many_out(session, [alert], locale)[0]


def _timeline_text(event: AlertEvent, locale: Locale) -> str:
    text = translate(f"alerts.timeline.{event.action}", locale)
    if event.note_key:
        detail = translate(event.note_key, locale, **event.params)
        text = detail if event.action != "auto_resolved" else f"{text}: {detail}"
    elif event.params.get("responder"):
        text = f"{text}: {event.params['responder']}"
    return text


def timeline(session: Session, *, alert_id: uuid.UUID, locale: Locale) -> list[TimelineItem]:
    events = session.exec(
        select(AlertEvent)
        .where(AlertEvent.alert_id == alert_id)
        .order_by(col(AlertEvent.at), col(AlertEvent.id))
    ).all()
    return [
        TimelineItem(
            at=e.at,
            action=e.action,
            text=_timeline_text(e, locale),
            from_status=e.from_status,
            to_status=e.to_status,
            actor_name=e.actor_name,
            note=e.note,
        )
        for e in events
    ]


def _map_url(elder: Elder) -> str | None:
    if elder.latitude is not None and elder.longitude is not None:
        return f"https://www.google.com/maps/search/?api=1&query={elder.latitude},{elder.longitude}"
    if elder.address:
        return "https://www.google.com/maps/search/?api=1&query=" + quote(
            f"{elder.address} {elder.community}"
        )
    return None


def _latest_readings(
    session: Session, *, elder_id: uuid.UUID, user: User, locale: Locale, request_id: str | None
) -> list[ReadingOut]:
    points = observations.history(
        session,
        elder_id=elder_id,
        actor=user,
        since=utcnow() - READINGS_LOOKBACK,
        request_id=request_id,
    )
    latest = {p.code: p for p in points}  # oldest first, so the last one per code wins
    return [
        ReadingOut(
            code=p.code,
            label=translate(f"alerts.reading.{p.code}", locale),
            value=p.value,
            unit=unit_text(p.unit, locale),
            observed_at=p.observed_at,
            priority=p.priority,
        )
        for p in sorted(latest.values(), key=lambda p: p.code)
    ]


def detail(
    session: Session,
    *,
    alert_id: uuid.UUID,
    user: User,
    locale: Locale,
    request_id: str | None,
) -> AlertDetail:
    """The alert, its timeline and the elder's card. Reading the card is audited."""
    alert_out = get_out(session, alert_id=alert_id, locale=locale)
    elder = elders.get_visible(session, user=user, elder_id=alert_out.elder_id)
    shown = elders.to_out(session, elder, user=user)
    # A dispatcher reopening an old alert sees who and where, not the clinical record.
    clinical = clinical_open(session, user=user, elder_id=elder.id)
    readings = (
        _latest_readings(
            session, elder_id=elder.id, user=user, locale=locale, request_id=request_id
        )
        if clinical
        else []
    )
    card = ElderCard(
        id=elder.id,
        name=elders.display_name(elder),
        age=shown.age,
        sex=shown.sex.value if shown.sex else None,
        phone=shown.phone,
        address=shown.address,
        community=shown.community,
        latitude=shown.latitude,
        longitude=shown.longitude,
        map_url=_map_url(elder),
        access_notes=shown.access_notes,
        lives_alone=shown.lives_alone,
        has_carer=shown.has_carer,
        mobility=shown.mobility.value if shown.mobility else None,
        fall_risk=shown.fall_risk,
        chronic_conditions=shown.chronic_conditions or [],
        medications=shown.medications,
        allergies=shown.allergies,
        contacts=[
            ContactCard(name=c.name, relation=c.relation, phone=c.phone)
            for c in shown.emergency_contacts or []
        ],
        readings=readings,
    )
    audit.record(
        session,
        actor=user,
        action="read",
        entity="alert_elder_card",
        entity_id=alert_id,
        elder_id=elder.id,
        fields=CARD_FIELDS if clinical else CARD_IDENTITY_FIELDS,
        request_id=request_id,
    )
    return AlertDetail(
        alert=alert_out, elder=card, timeline=timeline(session, alert_id=alert_id, locale=locale)
    )

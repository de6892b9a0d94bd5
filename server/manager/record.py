"""What the care manager sees of an elder beyond the caregiver's record: ADL over time,
consents, devices and the hub, alerts with their timelines, and who set the targets."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlmodel import Session, col, select

from server.alerts.models import Alert, AlertEvent
from server.audit import service as audit
from server.auth.models import Role, User
from server.care.models import Visit
from server.devices.models import Device, HubStatus
from server.elders.models import Consent
from server.manager.access import managed_elder
from server.manager.caseload import people
from server.manager.schemas import (
    AdlPoint,
    AlertEventRow,
    AlertRow,
    ConsentRow,
    DeviceRow,
    ManagerRecord,
    Person,
    TargetsInfo,
)
from server.observations.models import TriageOverrides

ALERTS_SHOWN = 20


def manager_record(
    session: Session, *, user: User, elder_id: uuid.UUID, request_id: str | None
) -> ManagerRecord:
    elder = managed_elder(session, user=user, elder_id=elder_id)
    visits = session.exec(
        select(Visit)
        .where(Visit.elder_id == elder.id, col(Visit.adl_score).is_not(None))
        .order_by(col(Visit.ended_at), col(Visit.updated_at))
    ).all()
    consents = session.exec(
        select(Consent).where(Consent.elder_id == elder.id).order_by(col(Consent.given_on))
    ).all()
    devices = session.exec(select(Device).where(Device.elder_id == elder.id)).all()
    hubs = {
        h.hub_id: h
        for h in session.exec(select(HubStatus).where(HubStatus.elder_id == elder.id)).all()
    }
    alerts = session.exec(
        select(Alert)
        .where(Alert.elder_id == elder.id)
        .order_by(col(Alert.created_at).desc())
        .limit(ALERTS_SHOWN)
    ).all()
    events: dict[uuid.UUID, list[AlertEventRow]] = defaultdict(list)
    if alerts:
        for ev in session.exec(
            select(AlertEvent)
            .where(col(AlertEvent.alert_id).in_([a.id for a in alerts]))
            .order_by(col(AlertEvent.at))
        ).all():
            events[ev.alert_id].append(
                AlertEventRow(at=ev.at, action=ev.action, to_status=ev.to_status,
                              actor_name=ev.actor_name, note=ev.note)
            )  # fmt: skip
    targets = session.get(TriageOverrides, elder.id)
    who = {v.performed_by for v in visits if v.performed_by}
    if targets and targets.set_by:
        who.add(targets.set_by)
    names = {p.id: p.name for p in people(session, who)}
    audit.record_reads(
        session, actor=user, entity="elder", elder_ids=[elder.id],
        fields=["adl_history", "consents", "devices", "alerts", "targets"], request_id=request_id,
    )  # fmt: skip
    staff: dict[str, list[Person]] = defaultdict(list)
    for uid, name, role in session.exec(
        select(User.id, User.full_name, User.role)
        .where(col(User.role).in_((Role.CAREGIVER, Role.VOLUNTEER)), col(User.active))
        .order_by(User.full_name)
    ).all():
        staff[role].append(Person(id=uid, name=name))
    return ManagerRecord(
        elder_id=elder.id,
        adl_history=[
            AdlPoint(
                at=v.ended_at or v.updated_at,
                score=v.adl_score,
                by=names.get(v.performed_by) if v.performed_by else None,
            )
            for v in visits
            if v.adl_score is not None
        ],
        consents=[
            ConsentRow(scope=c.scope, given_on=c.given_on, withdrawn_on=c.withdrawn_on)
            for c in consents
        ],
        devices=[
            DeviceRow(
                id=d.id,
                kind=d.kind,
                label=d.label,
                model=d.model,
                active=d.active,
                last_seen_at=hubs[d.id].last_seen_at if d.id in hubs else d.last_seen_at,
                battery=d.battery,
                offline_since=hubs[d.id].offline_since if d.id in hubs else None,
            )
            for d in devices
        ],
        alerts=[
            AlertRow(
                id=a.id,
                kind=a.kind,
                priority=a.priority,
                status=a.status,
                occurred_at=a.occurred_at,
                events=events[a.id],
            )
            for a in alerts
        ],
        targets=TargetsInfo(
            overrides=targets.overrides if targets else {},
            set_by=names.get(targets.set_by) if targets and targets.set_by else None,
            set_at=targets.set_at if targets else None,
        ),
        caregivers=staff[Role.CAREGIVER],
        volunteers=staff[Role.VOLUNTEER],
    )

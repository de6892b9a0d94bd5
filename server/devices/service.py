"""Devices and hub tokens: registering, issuing, revoking, the hub list with status, and
which hub a token speaks for.

The one place a device or a hub token is made or revoked: the API, the hubs page and
`eldercare devices add` all call these, so each writes the same rows and the same audit
entries. Functions add and flush; the caller commits once, so a hub, its token and the
audit rows land together or not at all. The ingest path lives in ingest.py / store.py and
supervision in supervision.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server import security
from server.audit import service as audit
from server.auth.models import User
from server.common.time import utcnow
from server.devices.config import DevicesSettings
from server.devices.models import (
    AgentEvent,
    Device,
    DeviceKind,
    HubStatus,
    HubToken,
    PendingReading,
)
from server.devices.schemas import DeviceOut
from server.elders import service as elders
from server.elders.models import Elder
from server.elders.schemas import ElderDevice
from server.errors import ApiError


@dataclass(frozen=True)
class TokenRow:
    id: uuid.UUID
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class HubRow:
    device_id: uuid.UUID
    label: str | None
    elder_id: uuid.UUID | None
    elder_name: str | None
    last_seen_at: datetime | None
    battery: int | None  # the lowest battery among its peripherals, from the last heartbeat
    status: str  # "online", "offline", "never_seen", "inactive"
    offline_since: datetime | None
    agent_version: str | None
    tokens: list[TokenRow]
    # False: the hub said it has no speaker (the elder hears no spoken prompt).
    speaker_ok: bool | None = None


def hub_state(
    *, status: HubStatus | None, active: bool, now: datetime, settings: DevicesSettings
) -> str:
    if not active:
        return "inactive"
    if status is None:
        return "never_seen"
    if status.offline_since is not None:
        return "offline"
    silent = (now - status.last_seen_at).total_seconds()
    return "offline" if silent > settings.offline_after_seconds else "online"


def list_hubs(session: Session, *, now: datetime, settings: DevicesSettings) -> list[HubRow]:
    rows = session.exec(
        select(Device, Elder, HubStatus)
        .join(Elder, col(Elder.id) == Device.elder_id, isouter=True)
        .join(HubStatus, col(HubStatus.hub_id) == Device.id, isouter=True)
        .where(Device.kind == DeviceKind.HUB)
        .order_by(col(Elder.first_name), col(Elder.last_name), col(Device.created_at))
    ).all()
    tokens: dict[uuid.UUID, list[TokenRow]] = {}
    for token in session.exec(select(HubToken).order_by(col(HubToken.created_at))).all():
        tokens.setdefault(token.device_id, []).append(
            TokenRow(token.id, token.prefix, token.created_at, token.revoked_at)
        )
    result = []
    for device, elder, status in rows:
        batteries = [
            d["battery"]
            for d in (status.devices if status else [])
            if isinstance(d.get("battery"), int)
        ]
        state = hub_state(status=status, active=device.active, now=now, settings=settings)
        result.append(
            HubRow(
                device_id=device.id,
                label=device.label,
                elder_id=elder.id if elder else None,
                elder_name=f"{elder.title or ''}{elder.first_name} {elder.last_name}"
                if elder
                else None,
                last_seen_at=status.last_seen_at if status else device.last_seen_at,
                battery=min(batteries) if batteries else device.battery,
                status=state,
                offline_since=(
                    (status.offline_since or status.last_seen_at)
                    if status and state == "offline"
                    else None
                ),
                agent_version=status.agent_version if status else None,
                tokens=tokens.get(device.id, []),
                speaker_ok=status.speaker_ok if status else None,
            )
        )
    return result


def register_device(
    session: Session,
    *,
    elder_id: uuid.UUID,
    kind: DeviceKind,
    label: str | None = None,
    model: str | None = None,
    ble_address: str | None = None,
    actor: User | None,
    request_id: str | None = None,
) -> tuple[Device, str | None]:
    """A new device for an elder; a hub gets its token, returned here and never again."""
    if session.get(Elder, elder_id) is None:
        raise ApiError(404, "not_found", "common.not_found", field="elder_id")
    device = Device(
        elder_id=elder_id, kind=kind, label=label or None, model=model, ble_address=ble_address
    )
    session.add(device)
    session.flush()
    audit.record(
        session, actor=actor, action="create", entity="device", entity_id=device.id,
        elder_id=elder_id, request_id=request_id,
    )  # fmt: skip
    token = None
    if kind == DeviceKind.HUB:
        _row, token = issue_hub_token(
            session, device_id=device.id, actor=actor, request_id=request_id
        )
    return device, token


def issue_hub_token(
    session: Session, *, device_id: uuid.UUID, actor: User | None, request_id: str | None = None
) -> tuple[HubToken, str]:
    """Returns the row and the token itself, which is never stored and shown only once."""
    device = session.get(Device, device_id)
    if device is None:
        raise ApiError(404, "not_found", "common.not_found")
    if device.kind != DeviceKind.HUB:
        raise ApiError(422, "not_a_hub", "elders.not_a_hub", field="device_id")
    new = security.new_hub_token()
    row = HubToken(
        device_id=device.id,
        token_hash=new.digest,
        prefix=new.prefix,
        created_by=actor.id if actor else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor=actor, action="create", entity="hub_token", entity_id=row.id,
        elder_id=device.elder_id, request_id=request_id,
    )  # fmt: skip
    return row, new.token


def revoke_hub_token(
    session: Session, *, token_id: uuid.UUID, actor: User | None, request_id: str | None = None
) -> HubToken | None:
    """None if there is no such token; revoking a revoked token changes (and audits) nothing."""
    row = session.get(HubToken, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        device = session.get(Device, row.device_id)
        audit.record(
            session, actor=actor, action="revoke", entity="hub_token", entity_id=row.id,
            elder_id=device.elder_id if device else None, request_id=request_id,
        )  # fmt: skip
        session.flush()
    return row


def list_devices(session: Session, *, kind: DeviceKind | None = None) -> list[DeviceOut]:
    query = select(Device).order_by(col(Device.created_at))
    if kind:
        query = query.where(Device.kind == kind)
    return [device_out(d) for d in session.exec(query).all()]


def device_out(device: Device) -> DeviceOut:
    return DeviceOut.model_validate(device.model_dump())


def elder_devices(
    session: Session, elder_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ElderDevice]]:
    """The devices of each of these elders, oldest first, in one query."""
    devices = session.exec(
        select(Device).where(col(Device.elder_id).in_(elder_ids)).order_by(col(Device.created_at))
    ).all()
    out: dict[uuid.UUID, list[ElderDevice]] = {}
    for d in devices:
        if d.elder_id is not None:
            out.setdefault(d.elder_id, []).append(ElderDevice.model_validate(d.model_dump()))
    return out


elders.show_devices_with(elder_devices)


# --- which hub a token speaks for -------------------------------------------------------


def hub_token_row(session: Session, token: str) -> HubToken | None:
    if not security.looks_like_hub_token(token):
        return None
    digest = security.token_digest(token)
    row = session.exec(select(HubToken).where(HubToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        return None
    return row


@dataclass(frozen=True)
class HubIdentity:
    """Who a hub token speaks for: one hub device in one elder's home."""

    token_id: uuid.UUID
    device_id: uuid.UUID
    elder_id: uuid.UUID | None


def authenticate_hub(session: Session, authorization: str | None) -> HubIdentity | None:
    """For the agent endpoints (HTTP and WebSocket): `Authorization: Bearer hub_...`."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    row = hub_token_row(session, authorization[7:].strip())
    if row is None:
        return None
    device = session.get(Device, row.device_id)
    if device is None or not device.active:
        return None
    return HubIdentity(token_id=row.id, device_id=device.id, elder_id=device.elder_id)


def elder_choices(session: Session) -> list[Elder]:
    return list(
        session.exec(select(Elder).order_by(col(Elder.first_name), col(Elder.last_name))).all()
    )


def prune_events(
    session: Session, *, keep_days: int, now: datetime | None = None, batch: int = 5000
) -> int:
    """Deletes hub events received more than `keep_days` ago, `batch` rows a transaction
    (so a first run over years of rows never holds one long transaction); returns how many.

    A reading still waiting to be triaged is kept whatever its age. What was made from the
    events (observations, alerts and their timelines) is not touched. A hub that re-sent an
    event this old would have it stored again; no outbox keeps an event that long."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    removed = 0
    while True:
        old = (
            select(AgentEvent.id)
            .where(
                col(AgentEvent.received_at) < cutoff,
                ~sa.exists().where(col(PendingReading.event_id) == col(AgentEvent.id)),
            )
            .limit(batch)
        )
        result = session.execute(
            sa.delete(AgentEvent).where(col(AgentEvent.id).in_(old.scalar_subquery())),
            execution_options={"synchronize_session": False},
        )
        session.commit()
        count: int = result.rowcount  # type: ignore[attr-defined]
        removed += count
        if count < batch:
            return removed

"""Hub management for administrators: the hub list with status, registering, revoking.

The ingest path lives in ingest.py / store.py and supervision in supervision.py; this module
is what pages and commands call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth import service as auth_service
from server.auth.models import HubToken, User
from server.devices.config import DevicesSettings
from server.devices.models import HubStatus
from server.elders.models import Device, DeviceKind, Elder


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
            )
        )
    return result


class UnknownElder(LookupError):
    pass


def register_hub(
    session: Session,
    *,
    elder_id: uuid.UUID,
    label: str | None,
    actor: User | None,
    request_id: str | None = None,
) -> tuple[Device, str]:
    """A new hub for an elder and its token, which is returned here and never again."""
    if session.get(Elder, elder_id) is None:
        raise UnknownElder(str(elder_id))
    device = Device(elder_id=elder_id, kind=DeviceKind.HUB, label=label or None)
    session.add(device)
    session.flush()
    audit.record(
        session, actor=actor, action="create", entity="device", entity_id=device.id,
        elder_id=elder_id, request_id=request_id,
    )  # fmt: skip
    session.commit()
    row, token = auth_service.issue_hub_token(
        session, device_id=device.id, created_by=actor.id if actor else None
    )
    audit.record(
        session, actor=actor, action="create", entity="hub_token", entity_id=row.id,
        elder_id=elder_id, request_id=request_id,
    )  # fmt: skip
    session.commit()
    return device, token


def revoke_token(
    session: Session, *, token_id: uuid.UUID, actor: User | None, request_id: str | None = None
) -> HubToken | None:
    row = session.get(HubToken, token_id)
    if row is None:
        return None
    already = row.revoked_at is not None
    row = auth_service.revoke_hub_token(session, token_id=token_id)
    if row is not None and not already:
        device = session.get(Device, row.device_id)
        audit.record(
            session, actor=actor, action="revoke", entity="hub_token", entity_id=row.id,
            elder_id=device.elder_id if device else None, request_id=request_id,
        )  # fmt: skip
        session.commit()
    return row


def elder_choices(session: Session) -> list[Elder]:
    return list(
        session.exec(select(Elder).order_by(col(Elder.first_name), col(Elder.last_name))).all()
    )

"""Missed check-ins: a hub silent for too long raises one WHITE hub_offline alert.

`check_missed_checkins` is a plain function any scheduler can call; `supervision_loop` runs
it every few seconds, started from the app's lifespan (server/main.py). Coming back is noticed on receipt (see store.py),
which clears the alert with how long the hub was gone.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import triage
from server.common.time import utcnow
from server.db import updated_one
from server.devices import alerting
from server.devices.config import DevicesSettings
from server.devices.models import Device, HubStatus
from server.devices.store import offline_cutoff
from server.elders.models import Elder
from server.observations.service import profile_for

log = logging.getLogger(__name__)


async def supervision_loop(engine: Engine, settings: DevicesSettings) -> None:
    def tick() -> int:
        with Session(engine, expire_on_commit=False) as session:
            return check_missed_checkins(session, now=utcnow(), settings=settings)

    while True:
        await asyncio.sleep(settings.supervision_interval_seconds)
        try:
            await anyio.to_thread.run_sync(tick)
        except Exception:  # the next tick tries again; one failure must not stop supervision
            log.exception("missed check-in supervision failed")


def check_missed_checkins(
    session: Session, *, now: datetime, settings: DevicesSettings | None = None
) -> int:
    """Raises a hub_offline alert for each hub newly past its check-in deadline; commits.

    Returns how many hubs were newly marked offline. Safe to call from several processes:
    a row is claimed with a conditional UPDATE, so only one caller raises its alert.
    """
    settings = settings or DevicesSettings()
    cutoff = offline_cutoff(now, settings)
    candidates = session.exec(
        select(HubStatus)
        .join(Device, col(Device.id) == HubStatus.hub_id)
        .where(
            col(HubStatus.offline_since).is_(None),
            col(HubStatus.last_seen_at) < cutoff,
            col(Device.active).is_(True),
            col(Device.elder_id).is_not(None),
        )
    ).all()
    raised = 0
    for status in candidates:
        if not updated_one(
            session,
            sa.update(HubStatus)
            .where(
                col(HubStatus.hub_id) == status.hub_id,
                col(HubStatus.offline_since).is_(None),
                col(HubStatus.last_seen_at) == status.last_seen_at,
            )
            .values(offline_since=status.last_seen_at),
        ):
            continue  # heard from meanwhile, or another process took it
        elder_id = session.exec(select(Device.elder_id).where(Device.id == status.hub_id)).one()
        assert elder_id is not None
        elder = session.get(Elder, elder_id)
        result = triage.prioritise_event(
            kind="missed_checkin", profile=profile_for(elder) if elder else None
        )
        alert_id = alerting.raise_alert(
            session,
            elder_id=elder_id,
            kind="hub_offline",
            priority=result.priority or triage.Priority.WHITE,
            reasons=result.reasons,
            risk=result.risk,
            device_id=status.hub_id,
            occurred_at=now,
        )
        session.execute(
            sa.update(HubStatus)
            .where(col(HubStatus.hub_id) == status.hub_id)
            .values(offline_alert_id=alert_id)
        )
        session.commit()
        raised += 1
        log.warning(
            "hub %s missed its check-ins (last seen %s): alert %s",
            status.hub_id,
            status.last_seen_at.isoformat(),
            alert_id,
        )
    return raised

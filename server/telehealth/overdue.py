"""A consultation that waits past its urgency's time is pushed to the elder's care manager.

The care app lists late questions on the follow-ups screen; that helps only a manager who looks.
This sends the manager one SMS per late consultation (through the notifier: Twilio when it is
configured, otherwise recorded). The message names no elder and no health detail: an SMS is
read on a lock screen. Exactly once across server processes: the row is claimed by setting
`overdue_notified_at` where it is still empty, in the transaction that queues the message.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server.auth.models import User
from server.care.models import Consult, ConsultUrgency
from server.common.time import utcnow
from server.elders.models import Elder
from server.i18n import DEFAULT_LOCALE, Locale, normalise_locale, translate
from server.notify import get_notifier
from server.telehealth.consults import ANSWER_WITHIN, overdue_clause

log = logging.getLogger(__name__)

TEMPLATE = "telehealth.sms.consult_overdue"
BATCH = 100


def notify_overdue(engine: Engine, *, app_url: str, now: datetime | None = None) -> int:
    """Sends what is due; returns how many consultations this call claimed."""
    now = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        due = session.exec(
            select(Consult.id, Consult.urgency, Elder.care_manager_id)
            .join(Elder, col(Elder.id) == Consult.elder_id)
            .where(overdue_clause(now), col(Consult.overdue_notified_at).is_(None))
            .order_by(col(Consult.created_at))
            .limit(BATCH)
        ).all()
        claimed = 0
        for consult_id, urgency_name, manager_id in due:
            urgency = ConsultUrgency(urgency_name)
            taken = session.execute(
                sa.update(Consult)
                .where(col(Consult.id) == consult_id, col(Consult.overdue_notified_at).is_(None))
                .values(overdue_notified_at=now)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another process has it
            claimed += 1
            manager = session.get(User, manager_id) if manager_id else None
            if manager is None or not manager.active or not manager.phone:
                # The follow-ups screen still lists it; nobody can be texted.
                log.warning("consult %s is overdue and its care manager has no phone", consult_id)
                continue
            hours = int(ANSWER_WITHIN[urgency].total_seconds() // 3600)
            locale: Locale = normalise_locale(manager.locale) or DEFAULT_LOCALE
            get_notifier().send_sms(
                session,
                to=manager.phone,
                template_key=TEMPLATE,
                params={"urgency": translate(f"telehealth.urgency.{urgency}", locale),
                        "hours": hours, "link": f"{app_url.rstrip('/')}/app/#/m/followups"},
                locale=locale,
                subject="consult",
                subject_id=consult_id,
            )  # fmt: skip
        session.commit()
    return claimed

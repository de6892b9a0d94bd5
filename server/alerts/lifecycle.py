"""The alert lifecycle as data: which action moves an alert from which states to which.

`new → acknowledged → dispatched → on_scene → (transported | resolved)`; `cancelled` and
`false_alarm` from any open state. A WHITE or GREEN alert that needs nobody sent may be
resolved once acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.alerts.models import OPEN_STATUSES, AlertStatus


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    DISPATCH = "dispatch"
    ON_SCENE = "on-scene"
    TRANSPORT = "transport"
    RESOLVE = "resolve"
    CANCEL = "cancel"
    FALSE_ALARM = "false-alarm"


@dataclass(frozen=True)
class Transition:
    sources: tuple[AlertStatus, ...]
    target: AlertStatus
    stamp: str | None  # the Alert column set to the time of the transition
    needs_reason: bool = False
    needs_responder: bool = False


_OPEN = tuple(s for s in AlertStatus if s in OPEN_STATUSES)

TRANSITIONS: dict[Action, Transition] = {
    Action.ACKNOWLEDGE: Transition((AlertStatus.NEW,), AlertStatus.ACKNOWLEDGED, "acknowledged_at"),
    Action.DISPATCH: Transition(
        (AlertStatus.ACKNOWLEDGED,), AlertStatus.DISPATCHED, "dispatched_at", needs_responder=True
    ),
    Action.ON_SCENE: Transition((AlertStatus.DISPATCHED,), AlertStatus.ON_SCENE, "on_scene_at"),
    Action.TRANSPORT: Transition(
        (AlertStatus.ON_SCENE,), AlertStatus.TRANSPORTED, "transported_at"
    ),
    Action.RESOLVE: Transition(
        (AlertStatus.ACKNOWLEDGED, AlertStatus.DISPATCHED, AlertStatus.ON_SCENE),
        AlertStatus.RESOLVED,
        "resolved_at",
    ),
    Action.CANCEL: Transition(_OPEN, AlertStatus.CANCELLED, None, needs_reason=True),
    Action.FALSE_ALARM: Transition(_OPEN, AlertStatus.FALSE_ALARM, None, needs_reason=True),
}


def allowed_actions(status: AlertStatus) -> list[Action]:
    return [action for action, t in TRANSITIONS.items() if status in t.sources]

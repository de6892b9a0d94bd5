"""The escalation policy as data: which timers an alert gets and what each does when due.

Every step counts from the alert's creation and fires only if the alert is still in one of
`when_status` then (an alert acknowledged at 40 s never escalates at 60 s). Sources: telecare
centres answer alarms within 60 s; the programme's target is 10 minutes (see
docs reference "Response-time figures"). A deployment may replace the policy with a JSON file
(`ELDERCARE_ALERTS_POLICY_FILE`) of the same shape.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.alerts.models import AlertStatus
from triage import Priority


class Action(StrEnum):
    REALARM = "realarm"  # sound the console alarm again
    NOTIFY_SUPERVISORS = "notify_supervisors"  # console + SMS to every active supervisor
    REMIND = "remind"  # a console reminder line
    SLA_BREACH = "sla_breach"  # flag the alert as past the response target


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=32)
    after_seconds: int = Field(ge=0, le=24 * 3600)
    when_status: frozenset[AlertStatus]
    actions: tuple[Action, ...]
    priorities: frozenset[Priority] = frozenset({Priority.RED, Priority.YELLOW})


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    # The console clock counts down to this; "time to on scene" is judged against it.
    target_minutes: int = Field(default=10, ge=1, le=240)
    # Presses from one home within this window join the open alert.
    join_window_seconds: int = Field(default=300, ge=0, le=3600)
    # Families hear when an alert of these colours opens and closes (never a test).
    family_priorities: frozenset[Priority] = frozenset({Priority.RED, Priority.YELLOW})
    steps: tuple[Step, ...]

    @model_validator(mode="after")
    def _unique_names(self) -> Policy:
        names = [s.name for s in self.steps]
        if len(names) != len(set(names)):
            raise ValueError("step names must be unique")
        return self

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)


DEFAULT_POLICY = Policy(
    version="2026-11-default",
    steps=(
        Step(
            name="escalate",
            after_seconds=60,
            when_status=frozenset({AlertStatus.NEW}),
            actions=(Action.REALARM, Action.NOTIFY_SUPERVISORS),
        ),
        Step(
            name="dispatch_reminder",
            after_seconds=180,
            when_status=frozenset({AlertStatus.ACKNOWLEDGED}),
            actions=(Action.REMIND,),
        ),
        Step(
            name="sla_breach",
            after_seconds=600,
            when_status=frozenset(
                {AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.DISPATCHED}
            ),
            actions=(Action.SLA_BREACH, Action.NOTIFY_SUPERVISORS),
        ),
    ),
)


@lru_cache
def load_policy(path: str | None) -> Policy:
    if not path:
        return DEFAULT_POLICY
    return Policy.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))

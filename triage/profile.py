"""What triage needs to know about an elder: living situation, ADL group, fall risk, conditions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from triage.rules import RULE_SET

AdlGroup = Literal["social_bound", "home_bound", "bed_bound"]


def adl_group(score: int) -> AdlGroup:
    """Thai elderly group from a Barthel ADL score (0-20): ติดสังคม / ติดบ้าน / ติดเตียง.

    Source: Thai Ministry of Public Health grouping by Barthel ADL — social-bound >=12,
    home-bound 5-11, bed-bound 0-4 (thresholds in `RULE_SET.adl`).
    """
    rules = RULE_SET.adl
    if isinstance(score, bool) or not isinstance(score, int):
        raise TypeError(f"ADL score must be an integer, got {score!r}")
    if not 0 <= score <= rules.score_max:
        raise ValueError(f"ADL score must be 0-{rules.score_max}, got {score}")
    if score >= rules.social_bound_min:
        return "social_bound"
    if score >= rules.home_bound_min:
        return "home_bound"
    return "bed_bound"


class ElderProfile(BaseModel):
    """The parts of an elder's record that change how urgent their alerts are.

    `has_carer` defaults to False: when nobody has recorded a carer, triage assumes there is
    none, so an unknown living situation is never treated as the safer one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    lives_alone: bool = False
    has_carer: bool = False
    adl_score: int | None = Field(default=None, ge=0, le=20)
    fall_risk: bool = False
    chronic_conditions: tuple[str, ...] = ()
    age: int | None = Field(default=None, ge=0, le=130)

    @property
    def adl_group(self) -> AdlGroup | None:
        return None if self.adl_score is None else adl_group(self.adl_score)

    @property
    def alone_without_carer(self) -> bool:
        return self.lives_alone and not self.has_carer

    @property
    def vulnerable(self) -> bool:
        """Alone with no carer, or bed-bound: never under-prioritised, ordered first."""
        return self.alone_without_carer or self.adl_group == "bed_bound"

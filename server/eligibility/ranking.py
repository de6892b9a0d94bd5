"""The ranking and the committee's screening: pure functions, no web or database code.

Order (each step only separates applicants the previous steps left equal):

1. in the target profile (meets the rubric's minimum number of target conditions) first;
2. higher total score;
3. more target conditions met;
4. lower ADL score (more dependent) — an applicant without an ADL answer comes after;
5. earlier application time;
6. a seeded draw: SHA-256 of "<seed>:<application number>", lower first.

Step 6 makes the order total, and it depends only on the seed recorded on the round and the
public application number, so anyone can recompute it, and the input order never matters.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

TIE_BREAK_CHAIN = ("eligibility", "score", "targets", "adl", "submitted_at", "draw")
NO_ADL = float("inf")


@dataclass(frozen=True, slots=True)
class RankInput:
    application_id: str
    number: str  # the public application number, unique in the round
    total_centi: int
    targets_met: int
    eligible: bool
    adl: float | None
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class Ranked:
    entry: RankInput
    rank: int
    within_quota: bool
    # Which step of TIE_BREAK_CHAIN put this entry below the one before it ("" for the first).
    decided_by: str
    draw: str


def draw_key(seed: str, number: str) -> str:
    return hashlib.sha256(f"{seed}:{number}".encode()).hexdigest()


def _key(entry: RankInput, draw: str) -> tuple[Any, ...]:
    return (
        not entry.eligible,
        -entry.total_centi,
        -entry.targets_met,
        NO_ADL if entry.adl is None else entry.adl,
        entry.submitted_at,
        draw,
    )


def rank(entries: Iterable[RankInput], *, devices: int, seed: str) -> list[Ranked]:
    """Ranks every application; the first `devices` eligible ones are within the quota."""
    keyed = [(_key(e, draw_key(seed, e.number)), e) for e in entries]
    keyed.sort(key=lambda pair: pair[0])
    out: list[Ranked] = []
    previous: tuple[Any, ...] | None = None
    for position, (key, entry) in enumerate(keyed, start=1):
        decided_by = ""
        if previous is not None:
            decided_by = "draw"
            for step in range(len(TIE_BREAK_CHAIN)):
                if previous[step] != key[step]:
                    decided_by = TIE_BREAK_CHAIN[step]
                    break
        out.append(
            Ranked(
                entry=entry,
                rank=position,
                within_quota=entry.eligible and position <= devices,
                decided_by=decided_by,
                draw=key[-1],
            )
        )
        previous = key
    return out


def inputs_digest(entries: Iterable[RankInput], *, devices: int, seed: str) -> str:
    """A fingerprint of everything the ranking depends on, to show two runs had equal inputs."""
    digest = hashlib.sha256(f"{devices}|{seed}".encode())
    for e in sorted(entries, key=lambda x: x.number):
        digest.update(
            f"\n{e.number}|{e.total_centi}|{e.targets_met}|{int(e.eligible)}|{e.adl}|"
            f"{e.submitted_at.isoformat()}".encode()
        )
    return digest.hexdigest()


# --- screening -----------------------------------------------------------------------------


class Vote(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    DEFER = "defer"


class Outcome(StrEnum):
    SELECTED = "selected"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    DEFERRED = "deferred"
    NOT_ELIGIBLE = "not_eligible"


def resolve_votes(votes: Sequence[Vote]) -> Vote | None:
    """The committee's decision on one application: the most votes; a tie defers it.

    No votes at all means no objection: the application keeps its place in the ranking.
    """
    if not votes:
        return None
    counts = Counter(votes).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return Vote.DEFER
    return counts[0][0]


def screen(
    ranked: Sequence[Ranked], *, votes: Mapping[str, Sequence[Vote]], devices: int
) -> dict[str, Outcome]:
    """Outcome per application id when the chair closes screening.

    Walking the ranking in order, applicants the committee rejected or deferred step aside
    and the next in line moves up, so the number selected is the number of devices whenever
    enough eligible applicants remain. Applicants outside the target profile are never
    selected (the rubric's rule), whatever the votes.
    """
    outcomes: dict[str, Outcome] = {}
    selected = 0
    for item in ranked:
        app_id = item.entry.application_id
        decision = resolve_votes(votes.get(app_id, ()))
        if not item.entry.eligible:
            outcomes[app_id] = Outcome.NOT_ELIGIBLE
        elif decision == Vote.REJECT:
            outcomes[app_id] = Outcome.REJECTED
        elif decision == Vote.DEFER:
            outcomes[app_id] = Outcome.DEFERRED
        elif selected < devices:
            outcomes[app_id] = Outcome.SELECTED
            selected += 1
        else:
            outcomes[app_id] = Outcome.WAITLISTED
    return outcomes

"""The pure scoring core: rubric validation, canonical hash, points and target conditions."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from server.eligibility import scoring
from server.eligibility.rubrics import default_rubric_data

GOOD_ANSWERS: dict[str, scoring.Answer] = {
    "living": "alone_no_carer", "adl": 8, "falls": 2, "chronic": "multiple",
    "access": "difficult", "age": 81, "income": "welfare_card", "distance_km": 3.5,
    "emergencies": 1,
}  # fmt: skip


def content() -> dict[str, Any]:
    return copy.deepcopy(default_rubric_data()[1])


@pytest.fixture
def rubric() -> scoring.Rubric:
    return scoring.parse_rubric(content())


def test_default_rubric_carries_the_three_target_conditions(rubric: scoring.Rubric) -> None:
    assert [t.key for t in rubric.targets] == [
        "lives_alone_no_carer", "mobility_fall_risk", "chronic_poor_access",
    ]  # fmt: skip
    keys = {c.key for c in rubric.criteria}
    assert {"age", "income", "distance_km", "emergencies", "adl", "falls"} <= keys
    assert rubric.min_targets == 1 and rubric.adl_criterion == "adl"


def test_score_breakdown_total_and_targets(rubric: scoring.Rubric) -> None:
    result = scoring.score(rubric, GOOD_ANSWERS)
    by = {b.criterion: b for b in result.breakdown}
    assert by["living"].points == 10 and by["living"].weighted_centi == 3000
    assert by["adl"].points == 10  # ADL 8: home-bound band
    assert by["distance_km"].points == 3  # 3.5 km: the band starting at 2
    assert by["emergencies"].weighted_centi == 750  # weight 1.5
    assert result.total_centi == sum(b.weighted_centi for b in result.breakdown) == 12250
    assert scoring.format_centi(result.total_centi) == "122.5"
    assert result.targets_met == (
        "lives_alone_no_carer",
        "mobility_fall_risk",
        "chronic_poor_access",
    )
    assert result.eligible and result.adl == 8.0


def test_band_edges_are_inclusive_at_their_start(rubric: scoring.Rubric) -> None:
    def adl_points(value: int) -> int:
        answers = {**GOOD_ANSWERS, "adl": value}
        return next(
            b.points for b in scoring.score(rubric, answers).breakdown if b.criterion == "adl"
        )

    assert [adl_points(v) for v in (0, 4, 5, 11, 12, 16, 17, 20)] == [8, 8, 10, 10, 4, 4, 0, 0]


def test_no_target_condition_means_outside_the_profile(rubric: scoring.Rubric) -> None:
    answers = {**GOOD_ANSWERS, "living": "with_carer", "falls": 0, "access": "easy"}
    result = scoring.score(rubric, answers)
    assert result.targets_met == () and not result.eligible


def test_every_bad_answer_is_reported_at_once(rubric: scoring.Rubric) -> None:
    answers = {**GOOD_ANSWERS, "living": "castle", "adl": 25, "falls": "many", "typo": 1}
    del answers["income"]
    with pytest.raises(scoring.AnswerError) as caught:
        scoring.score(rubric, answers)
    got = {(p.criterion, p.code) for p in caught.value.problems}
    assert got == {
        ("living", "not_an_option"), ("adl", "out_of_range"), ("falls", "not_a_number"),
        ("income", "missing"), ("typo", "unknown"),
    }  # fmt: skip


def test_numeric_answers_given_as_text_are_read_exactly(rubric: scoring.Rubric) -> None:
    a = scoring.score(rubric, {**GOOD_ANSWERS, "distance_km": "4.99"})
    b = scoring.score(rubric, {**GOOD_ANSWERS, "distance_km": 5})
    assert a.total_centi + 300 == b.total_centi


def test_hash_is_canonical_and_changes_with_content() -> None:
    base = scoring.rubric_hash(scoring.parse_rubric(content()))
    respelled = content()
    respelled["criteria"][0]["weight"] = "3.00"  # same value, other spelling
    respelled["criteria"][1]["question"] = dict(
        reversed(list(respelled["criteria"][1]["question"].items()))
    )
    assert scoring.rubric_hash(scoring.parse_rubric(respelled)) == base
    # A round trip through the stored canonical form keeps the identity.
    stored = json.loads(scoring.canonical_json(scoring.parse_rubric(content())))
    assert scoring.rubric_hash(scoring.parse_rubric(stored)) == base
    changed = content()
    changed["criteria"][3]["options"][3]["points"] = 9
    assert scoring.rubric_hash(scoring.parse_rubric(changed)) != base
    assert len(base) == 64


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda c: c.update(criteria=[]), "criteria"),
        (lambda c: c["criteria"][0].update(weight=0), "criteria[0].weight"),
        (lambda c: c["criteria"][0].update(weight=1.234), "criteria[0].weight"),
        (lambda c: c["criteria"][0].update(kind="essay"), "criteria[0].kind"),
        (lambda c: c["criteria"][1].update(key="living"), "criteria[1].key"),
        (lambda c: c["criteria"][1]["bands"].reverse(), "criteria[1].bands"),
        (lambda c: c["criteria"][0]["question"].pop("th"), "criteria[0].question"),
        (
            lambda c: c["targets"][0]["requires"][0].update(criterion="nope"),
            "targets[0].requires[0]",
        ),
        (
            lambda c: c["targets"][0]["requires"][0].update(min_points=99),
            "targets[0].requires[0].min_points",
        ),
        (lambda c: c.update(min_targets=4), "min_targets"),
        (lambda c: c.update(adl_criterion="living"), "adl_criterion"),
    ],
)
def test_bad_rubrics_name_the_offending_part(mutate: Any, path: str) -> None:
    data = content()
    mutate(data)
    with pytest.raises(scoring.RubricError) as caught:
        scoring.parse_rubric(data)
    assert caught.value.path == path

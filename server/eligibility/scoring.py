"""Rubrics and scoring: pure functions, no web or database code.

A rubric is data: criteria (a question, allowed answers or a numeric input, points, a
weight), the programme's target conditions expressed over those criteria, and the rule for
who is in the target profile. Its identity is the SHA-256 of a canonical JSON of that data,
so two rubrics with the same content have the same hash and any change makes a new one.

Arithmetic is in integer hundredths ("centi-points"): weights have at most two decimals, so
totals are exact and two applicants with equal scores always compare equal.
"""

from __future__ import annotations

import hashlib
import json
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple

CriterionKind = Literal["choice", "number"]
Answer = str | int | float | None
DERIVED_SOURCES = frozenset({"age_from_birth_date"})
MAX_CRITERIA = 40
MAX_OPTIONS = 20


class RubricError(ValueError):
    """A rubric that cannot be used; `path` names the offending part (e.g. criteria[2].weight)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class AnswerProblem:
    criterion: str
    code: Literal["missing", "not_an_option", "not_a_number", "out_of_range", "unknown"]


class AnswerError(ValueError):
    def __init__(self, problems: Sequence[AnswerProblem]) -> None:
        super().__init__(", ".join(f"{p.criterion}: {p.code}" for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Option:
    value: str
    points: int
    label: Mapping[str, str]


@dataclass(frozen=True)
class Band:
    """Numeric answers at or above `start` (up to the next band's start) earn `points`."""

    start: Decimal
    points: int


@dataclass(frozen=True)
class Criterion:
    key: str
    kind: CriterionKind
    question: Mapping[str, str]
    weight_centi: int
    options: tuple[Option, ...] = ()
    bands: tuple[Band, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    unit: str | None = None
    # Filled by the service from the registry rather than typed in (e.g. age from birth date).
    derived: str | None = None
    # Lookups built once, so scoring 100,000 applications stays quick.
    choice_points: Mapping[str, int] = field(init=False, repr=False, compare=False)
    starts: tuple[float, ...] = field(init=False, repr=False, compare=False)
    band_points: tuple[int, ...] = field(init=False, repr=False, compare=False)
    low: float = field(init=False, repr=False, compare=False)
    high: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Band starts and limits are short decimals; as floats they compare exactly with the
        # same decimals typed as answers (4.99 < 5.0, 5 == 5.0).
        object.__setattr__(self, "choice_points", {o.value: o.points for o in self.options})
        object.__setattr__(self, "starts", tuple(float(b.start) for b in self.bands))
        object.__setattr__(self, "band_points", tuple(b.points for b in self.bands))
        object.__setattr__(self, "low", float(self.minimum) if self.minimum is not None else 0.0)
        object.__setattr__(self, "high", float(self.maximum) if self.maximum is not None else 0.0)

    @property
    def max_points(self) -> int:
        values = [o.points for o in self.options] or [b.points for b in self.bands]
        return max(values)


@dataclass(frozen=True)
class Requirement:
    criterion: str
    min_points: int


@dataclass(frozen=True)
class TargetCondition:
    key: str
    label: Mapping[str, str]
    requires: tuple[Requirement, ...]


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]
    targets: tuple[TargetCondition, ...]
    min_targets: int
    # The numeric criterion used as the ranking's tie-break "lower ADL first".
    adl_criterion: str | None
    keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(c.key for c in self.criteria))

    def criterion(self, key: str) -> Criterion:
        for c in self.criteria:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def max_total_centi(self) -> int:
        return sum(c.max_points * c.weight_centi for c in self.criteria)


class CriterionScore(NamedTuple):
    # A tuple: made nine times per application, a frozen dataclass costs more than the sum.
    criterion: str
    answer: Answer
    points: int
    weight_centi: int
    weighted_centi: int


@dataclass(frozen=True, slots=True)
class Score:
    total_centi: int
    breakdown: tuple[CriterionScore, ...]
    targets_met: tuple[str, ...]
    eligible: bool
    # The tie-break value (the ADL answer), None when the rubric has none or it was not given.
    adl: float | None


# --- parsing -------------------------------------------------------------------------------


def _text_map(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise RubricError(path, "expected an object of language -> text")
    out: dict[str, str] = {}
    for lang, text in value.items():
        if not isinstance(lang, str) or not isinstance(text, str) or not text.strip():
            raise RubricError(path, "every language needs a non-empty text")
        out[lang] = text.strip()
    if "th" not in out:
        raise RubricError(path, "a Thai text ('th') is required")
    return out


def _int(value: Any, path: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RubricError(path, f"expected a whole number from {low} to {high}")
    return value


def _decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RubricError(path, "expected a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise RubricError(path, "expected a number") from exc
    if not number.is_finite():
        raise RubricError(path, "expected a finite number")
    return number


def _weight_centi(value: Any, path: str) -> int:
    number = _decimal(value, path)
    centi = number * 100
    if centi != centi.to_integral_value() or not 0 < centi <= 10_000:
        raise RubricError(path, "a weight is above 0, at most 100, with at most two decimals")
    return int(centi)


def _key(value: Any, path: str) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= 64
        or not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in value)
    ):
        raise RubricError(path, "a key is 1-64 ASCII letters, digits or underscores")
    return value


def parse_rubric(data: Mapping[str, Any]) -> Rubric:
    """Validates rubric content and returns it; raises RubricError naming the bad part."""
    raw_criteria = data.get("criteria")
    if not isinstance(raw_criteria, list) or not 1 <= len(raw_criteria) <= MAX_CRITERIA:
        raise RubricError("criteria", f"expected a list of 1 to {MAX_CRITERIA} criteria")
    criteria: list[Criterion] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_criteria):
        path = f"criteria[{i}]"
        if not isinstance(raw, Mapping):
            raise RubricError(path, "expected an object")
        key = _key(raw.get("key"), f"{path}.key")
        if key in seen:
            raise RubricError(f"{path}.key", f"criterion {key!r} is defined twice")
        seen.add(key)
        criteria.append(_parse_criterion(raw, path, key))
    by_key = {c.key: c for c in criteria}
    targets: list[TargetCondition] = []
    raw_targets = data.get("targets", [])
    if not isinstance(raw_targets, list):
        raise RubricError("targets", "expected a list")
    for i, raw in enumerate(raw_targets):
        path = f"targets[{i}]"
        if not isinstance(raw, Mapping):
            raise RubricError(path, "expected an object")
        requires_raw = raw.get("requires")
        if not isinstance(requires_raw, list) or not requires_raw:
            raise RubricError(f"{path}.requires", "expected a non-empty list")
        requires: list[Requirement] = []
        for j, req in enumerate(requires_raw):
            rpath = f"{path}.requires[{j}]"
            if not isinstance(req, Mapping) or req.get("criterion") not in by_key:
                raise RubricError(rpath, "must name a criterion of this rubric")
            crit = by_key[req["criterion"]]
            points = _int(req.get("min_points"), f"{rpath}.min_points", low=1, high=1000)
            if points > crit.max_points:
                raise RubricError(f"{rpath}.min_points", "more than the criterion can give")
            requires.append(Requirement(crit.key, points))
        targets.append(
            TargetCondition(
                key=_key(raw.get("key"), f"{path}.key"),
                label=_text_map(raw.get("label"), f"{path}.label"),
                requires=tuple(requires),
            )
        )
    if len({t.key for t in targets}) != len(targets):
        raise RubricError("targets", "target keys must be unique")
    min_targets = _int(data.get("min_targets", 0), "min_targets", low=0, high=len(targets))
    adl = data.get("adl_criterion")
    if adl is not None and (adl not in by_key or by_key[adl].kind != "number"):
        raise RubricError("adl_criterion", "must name a numeric criterion of this rubric")
    return Rubric(tuple(criteria), tuple(targets), min_targets, adl)


def _parse_criterion(raw: Mapping[str, Any], path: str, key: str) -> Criterion:
    kind = raw.get("kind")
    question = _text_map(raw.get("question"), f"{path}.question")
    weight = _weight_centi(raw.get("weight", 1), f"{path}.weight")
    derived = raw.get("derived")
    if derived is not None and derived not in DERIVED_SOURCES:
        raise RubricError(f"{path}.derived", f"known sources: {sorted(DERIVED_SOURCES)}")
    if kind == "choice":
        raw_options = raw.get("options")
        if not isinstance(raw_options, list) or not 2 <= len(raw_options) <= MAX_OPTIONS:
            raise RubricError(f"{path}.options", f"expected 2 to {MAX_OPTIONS} options")
        options: list[Option] = []
        for j, opt in enumerate(raw_options):
            opath = f"{path}.options[{j}]"
            if not isinstance(opt, Mapping):
                raise RubricError(opath, "expected an object")
            options.append(
                Option(
                    value=_key(opt.get("value"), f"{opath}.value"),
                    points=_int(opt.get("points"), f"{opath}.points", low=0, high=1000),
                    label=_text_map(opt.get("label"), f"{opath}.label"),
                )
            )
        if len({o.value for o in options}) != len(options):
            raise RubricError(f"{path}.options", "option values must be unique")
        if derived is not None:
            raise RubricError(f"{path}.derived", "only numeric criteria can be derived")
        return Criterion(key, "choice", question, weight, options=tuple(options))
    if kind == "number":
        minimum = _decimal(raw.get("min"), f"{path}.min")
        maximum = _decimal(raw.get("max"), f"{path}.max")
        if maximum <= minimum:
            raise RubricError(f"{path}.max", "must be above min")
        raw_bands = raw.get("bands")
        if not isinstance(raw_bands, list) or not 1 <= len(raw_bands) <= MAX_OPTIONS:
            raise RubricError(f"{path}.bands", f"expected 1 to {MAX_OPTIONS} bands")
        bands = []
        for j, band in enumerate(raw_bands):
            bpath = f"{path}.bands[{j}]"
            if not isinstance(band, Mapping):
                raise RubricError(bpath, "expected an object")
            bands.append(
                Band(
                    start=_decimal(band.get("from"), f"{bpath}.from"),
                    points=_int(band.get("points"), f"{bpath}.points", low=0, high=1000),
                )
            )
        starts = [b.start for b in bands]
        if starts != sorted(set(starts)):
            raise RubricError(f"{path}.bands", "band starts must be strictly increasing")
        if starts[0] != minimum or starts[-1] > maximum:
            raise RubricError(f"{path}.bands", "the first band starts at min; all start <= max")
        unit = raw.get("unit")
        if unit is not None and (not isinstance(unit, str) or len(unit) > 32):
            raise RubricError(f"{path}.unit", "a unit is text of at most 32 characters")
        return Criterion(
            key, "number", question, weight, bands=tuple(bands), minimum=minimum,
            maximum=maximum, unit=unit, derived=derived,
        )  # fmt: skip
    raise RubricError(f"{path}.kind", "expected 'choice' or 'number'")


# --- canonical form and hash ---------------------------------------------------------------


def _num(value: Decimal) -> str:
    # "5", "2.5": one spelling per value, whatever the input said (5, 5.0, "5.00").
    text = format(value.normalize(), "f")
    return text


def canonical(rubric: Rubric) -> dict[str, Any]:
    """The rubric as plain JSON-able data, in one spelling: what is hashed and stored."""
    criteria: list[dict[str, Any]] = []
    for c in rubric.criteria:
        item: dict[str, Any] = {
            "key": c.key,
            "kind": c.kind,
            "question": dict(sorted(c.question.items())),
            "weight": _num(Decimal(c.weight_centi) / 100),
        }
        if c.kind == "choice":
            item["options"] = [
                {"value": o.value, "points": o.points, "label": dict(sorted(o.label.items()))}
                for o in c.options
            ]
        else:
            item["min"] = _num(c.minimum or Decimal(0))
            item["max"] = _num(c.maximum or Decimal(0))
            item["bands"] = [{"from": _num(b.start), "points": b.points} for b in c.bands]
            if c.unit:
                item["unit"] = c.unit
            if c.derived:
                item["derived"] = c.derived
        criteria.append(item)
    return {
        "criteria": criteria,
        "targets": [
            {
                "key": t.key,
                "label": dict(sorted(t.label.items())),
                "requires": [
                    {"criterion": r.criterion, "min_points": r.min_points} for r in t.requires
                ],
            }
            for t in rubric.targets
        ],
        "min_targets": rubric.min_targets,
        "adl_criterion": rubric.adl_criterion,
    }


def canonical_json(rubric: Rubric) -> bytes:
    return json.dumps(
        canonical(rubric), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def rubric_hash(rubric: Rubric) -> str:
    """SHA-256 (hex) of the canonical JSON: the version's identity."""
    return hashlib.sha256(canonical_json(rubric)).hexdigest()


# --- scoring -------------------------------------------------------------------------------


def _number(value: Answer) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or "_" in text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        number = float(value)
    return number if math.isfinite(number) else None


def score(rubric: Rubric, answers: Mapping[str, Answer]) -> Score:
    """The total, the per-criterion breakdown and the target conditions met.

    Every criterion needs an answer; unknown keys are refused (a typo must not silently
    score zero). All problems are reported at once.
    """
    problems: list[AnswerProblem] = []
    breakdown: list[CriterionScore] = []
    points_by: dict[str, int] = {}
    adl: float | None = None
    for c in rubric.criteria:
        value = answers.get(c.key)
        if value is None or value == "":
            problems.append(AnswerProblem(c.key, "missing"))
            continue
        if c.kind == "choice":
            found = c.choice_points.get(value) if isinstance(value, str) else None
            if found is None:
                problems.append(AnswerProblem(c.key, "not_an_option"))
                continue
            points = found
            shown: Answer = value
        else:
            number = _number(value)
            if number is None:
                problems.append(AnswerProblem(c.key, "not_a_number"))
                continue
            if not c.low <= number <= c.high:
                problems.append(AnswerProblem(c.key, "out_of_range"))
                continue
            points = c.band_points[bisect_right(c.starts, number) - 1]
            shown = int(number) if number.is_integer() else number
            if c.key == rubric.adl_criterion:
                adl = number
        points_by[c.key] = points
        breakdown.append(
            CriterionScore(c.key, shown, points, c.weight_centi, points * c.weight_centi)
        )
    if not rubric.keys.issuperset(answers):
        problems.extend(AnswerProblem(k, "unknown") for k in sorted(set(answers) - rubric.keys))
    if problems:
        raise AnswerError(problems)
    met = tuple(
        t.key
        for t in rubric.targets
        if all(points_by[r.criterion] >= r.min_points for r in t.requires)
    )
    return Score(
        total_centi=sum(b.weighted_centi for b in breakdown),
        breakdown=tuple(breakdown),
        targets_met=met,
        eligible=len(met) >= rubric.min_targets,
        adl=adl,
    )


def format_centi(value: int) -> str:
    """12345 -> "123.45", 4200 -> "42"."""
    whole, frac = divmod(abs(value), 100)
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}" if frac == 0 else f"{sign}{whole}.{frac:02d}".rstrip("0")

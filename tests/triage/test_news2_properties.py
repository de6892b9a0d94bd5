"""Property-based checks of NEWS2: sums, monotonicity, and missing parameters always reported."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from triage import news2_score, priority_rank
from triage.reasons import NEWS2_PARAMETERS

respiration = st.integers(min_value=2, max_value=80)
spo2 = st.integers(min_value=1, max_value=100)
systolic = st.integers(min_value=40, max_value=300)
pulse = st.integers(min_value=20, max_value=300)
temperature = st.decimals(min_value=25, max_value=45, places=1).map(float)
consciousness = st.sampled_from(["alert", "new_confusion", "voice", "pain", "unresponsive"])

inputs = st.fixed_dictionaries(
    {},
    optional={
        "respiration_rate": respiration,
        "spo2": spo2,
        "spo2_scale": st.sampled_from([1, 2]),
        "on_oxygen": st.sampled_from([True, False, None]),
        "systolic": systolic,
        "pulse": pulse,
        "temperature_c": temperature,
        "consciousness": consciousness,
    },
)

_CODE = {"temperature_c": "temperature"}


@given(inputs)
def test_total_is_the_sum_of_subscores(kwargs: dict[str, Any]) -> None:
    result = news2_score(**kwargs)
    assert result.total == sum(result.subscores.values())
    assert all(points >= 0 for points in result.subscores.values())


@given(inputs)
def test_missing_parameters_are_always_reported(kwargs: dict[str, Any]) -> None:
    result = news2_score(**kwargs)
    measured = ("respiration_rate", "spo2", "systolic", "pulse", "temperature_c", "consciousness")
    given_names = {_CODE.get(name, name) for name in kwargs if name in measured}
    if kwargs.get("on_oxygen", False) is not None:  # the default, air, is a given value
        given_names.add("air_or_oxygen")
    assert set(result.subscores) == given_names
    assert set(result.missing) == set(NEWS2_PARAMETERS) - given_names
    assert set(result.missing).isdisjoint(result.subscores)
    assert result.partial == bool(result.missing)
    keys = [reason.key for reason in result.reasons]
    assert keys[0].startswith("triage.news2.partial." if result.partial else "triage.news2.full.")
    for name in result.missing:
        assert f"triage.news2.missing.{name}" in keys


# (parameter, strategy, normal low, normal high): below low, lower is worse; above high,
# higher is worse. None means no worse side.
_LADDERS: list[tuple[str, dict[str, Any], st.SearchStrategy[Any], float | None, float | None]] = [
    ("respiration_rate", {}, respiration, 12, 20),
    ("spo2", {"spo2_scale": 1}, spo2, 96, None),
    ("spo2", {"spo2_scale": 2, "on_oxygen": False}, spo2, 88, None),
    ("spo2", {"spo2_scale": 2, "on_oxygen": True}, spo2, 88, 92),
    ("systolic", {}, systolic, 111, 219),
    ("pulse", {}, pulse, 51, 90),
    ("temperature_c", {}, temperature, 36.1, 38.0),
]


@st.composite
def _worsening(draw: st.DrawFn) -> tuple[str, dict[str, Any], float, float]:
    name, extra, values, low, high = draw(st.sampled_from(_LADDERS))
    a, b = sorted((draw(values), draw(values)))
    if high is not None and a >= high:
        return name, extra, a, b  # above the normal band: b (higher) is worse
    if low is not None and b <= low:
        return name, extra, b, a  # below the normal band: a (lower) is worse
    # Straddling or inside the band: from inside the band to anywhere is never better.
    inside = low if low is not None else high
    assert inside is not None
    return name, extra, inside, draw(st.sampled_from([a, b]))


@given(_worsening(), inputs)
def test_a_worse_value_never_lowers_the_score(
    case: tuple[str, dict[str, Any], float, float], others: dict[str, Any]
) -> None:
    name, extra, better, worse = case
    base = {**others, **extra}
    before = news2_score(**{**base, name: better})
    after = news2_score(**{**base, name: worse})
    code = _CODE.get(name, name)
    assert after.subscores[code] >= before.subscores[code]
    assert after.total >= before.total
    assert priority_rank(after.priority) <= priority_rank(before.priority)


@given(inputs, st.sampled_from(["respiration_rate", "spo2", "systolic", "pulse", "temperature_c"]))
def test_adding_a_missing_parameter_never_lowers_the_score(
    kwargs: dict[str, Any], name: str
) -> None:
    values = {
        "respiration_rate": 30,
        "spo2": 80,
        "systolic": 80,
        "pulse": 35,
        "temperature_c": 34.0,
    }
    without = {key: value for key, value in kwargs.items() if key != name}
    partial = news2_score(**without)
    fuller = news2_score(**{**without, name: values[name]})
    assert fuller.total >= partial.total
    assert len(fuller.missing) == len(partial.missing) - 1


@given(inputs)
def test_oxygen_and_altered_consciousness_never_lower_the_score(kwargs: dict[str, Any]) -> None:
    on_air = news2_score(**{**kwargs, "on_oxygen": False})
    on_oxygen = news2_score(**{**kwargs, "on_oxygen": True})
    assert on_oxygen.total >= on_air.total
    alert = news2_score(**{**kwargs, "consciousness": "alert"})
    confused = news2_score(**{**kwargs, "consciousness": "new_confusion"})
    assert confused.total == alert.total + 3

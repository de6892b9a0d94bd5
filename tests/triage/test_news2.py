"""NEWS2 chart boundaries on both sides, bands, partial wording and bad input."""

from __future__ import annotations

import pytest

from triage import RULE_SET_VERSION, Priority, news2_score
from triage.reasons import NEWS2_PARAMETERS


def _points(parameter: str, **kwargs: object) -> int:
    return news2_score(**kwargs).subscores[parameter]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rate", "points"),
    [(2, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)],
)
def test_respiration_rate_boundaries(rate: int, points: int) -> None:
    assert _points("respiration_rate", respiration_rate=rate) == points


@pytest.mark.parametrize(
    ("spo2", "points"),
    [(85, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
def test_spo2_scale_1_boundaries(spo2: int, points: int) -> None:
    assert _points("spo2", spo2=spo2) == points
    # Oxygen does not change scale-1 SpO2 points; it scores separately.
    assert _points("spo2", spo2=spo2, on_oxygen=True) == points


@pytest.mark.parametrize(
    ("spo2", "on_air", "on_oxygen"),
    [
        (80, 3, 3),
        (83, 3, 3),
        (84, 2, 2),
        (85, 2, 2),
        (86, 1, 1),
        (87, 1, 1),
        (88, 0, 0),
        (92, 0, 0),
        (93, 0, 1),
        (94, 0, 1),
        (95, 0, 2),
        (96, 0, 2),
        (97, 0, 3),
        (100, 0, 3),
    ],
)
def test_spo2_scale_2_boundaries(spo2: int, on_air: int, on_oxygen: int) -> None:
    assert _points("spo2", spo2=spo2, spo2_scale=2, on_oxygen=False) == on_air
    assert _points("spo2", spo2=spo2, spo2_scale=2, on_oxygen=True) == on_oxygen


def test_air_or_oxygen() -> None:
    assert _points("air_or_oxygen", on_oxygen=False) == 0
    assert _points("air_or_oxygen", on_oxygen=True) == 2
    unknown = news2_score(on_oxygen=None)
    assert "air_or_oxygen" in unknown.missing
    assert "air_or_oxygen" not in unknown.subscores


@pytest.mark.parametrize(
    ("systolic", "points"),
    [
        (60, 3),
        (90, 3),
        (91, 2),
        (100, 2),
        (101, 1),
        (110, 1),
        (111, 0),
        (219, 0),
        (220, 3),
        (260, 3),
    ],
)
def test_systolic_boundaries(systolic: int, points: int) -> None:
    assert _points("systolic", systolic=systolic) == points


@pytest.mark.parametrize(
    ("pulse", "points"),
    [
        (30, 3),
        (40, 3),
        (41, 1),
        (50, 1),
        (51, 0),
        (90, 0),
        (91, 1),
        (110, 1),
        (111, 2),
        (130, 2),
        (131, 3),
        (180, 3),
    ],
)
def test_pulse_boundaries(pulse: int, points: int) -> None:
    assert _points("pulse", pulse=pulse) == points


@pytest.mark.parametrize(
    ("temperature", "points"),
    [
        (34.0, 3),
        (35.0, 3),
        (35.1, 1),
        (36.0, 1),
        (36.1, 0),
        (38.0, 0),
        (38.1, 1),
        (39.0, 1),
        (39.1, 2),
        (41.0, 2),
    ],
)
def test_temperature_boundaries(temperature: float, points: int) -> None:
    assert _points("temperature", temperature_c=temperature) == points


@pytest.mark.parametrize(
    ("value", "points"),
    [("alert", 0), ("new_confusion", 3), ("voice", 3), ("pain", 3), ("unresponsive", 3)],
)
def test_consciousness(value: str, points: int) -> None:
    assert _points("consciousness", consciousness=value) == points


@pytest.mark.parametrize(
    ("kwargs", "parameter", "points"),
    [
        # Values are rounded half-up to the chart's precision before lookup.
        ({"temperature_c": 38.04}, "temperature", 0),
        ({"temperature_c": 38.05}, "temperature", 1),
        ({"temperature_c": 35.04}, "temperature", 3),
        ({"spo2": 91.4}, "spo2", 3),
        ({"spo2": 91.5}, "spo2", 2),
        ({"pulse": 90.4}, "pulse", 0),
        ({"pulse": 90.5}, "pulse", 1),
        ({"systolic": 219.5}, "systolic", 3),
    ],
)
def test_values_round_to_chart_precision(
    kwargs: dict[str, float], parameter: str, points: int
) -> None:
    assert _points(parameter, **kwargs) == points


def _full(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "respiration_rate": 16,
        "spo2": 97,
        "on_oxygen": False,
        "systolic": 125,
        "pulse": 70,
        "consciousness": "alert",
        "temperature_c": 37.0,
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "total", "band", "priority"),
    [
        ({}, 0, "none", None),
        ({"pulse": 95}, 1, "low", Priority.GREEN),
        ({"pulse": 115, "respiration_rate": 22}, 4, "low", Priority.GREEN),
        ({"pulse": 135}, 3, "low-medium", Priority.YELLOW),
        ({"pulse": 135, "temperature_c": 38.5}, 4, "low-medium", Priority.YELLOW),
        ({"pulse": 135, "on_oxygen": True}, 5, "medium", Priority.YELLOW),
        (
            {"pulse": 115, "respiration_rate": 22, "temperature_c": 38.5},
            5,
            "medium",
            Priority.YELLOW,
        ),
        ({"pulse": 115, "respiration_rate": 22, "on_oxygen": True}, 6, "medium", Priority.YELLOW),
        ({"pulse": 135, "respiration_rate": 22, "on_oxygen": True}, 7, "high", Priority.RED),
        ({"pulse": 135, "respiration_rate": 26, "consciousness": "voice"}, 9, "high", Priority.RED),
    ],
)
def test_bands(
    overrides: dict[str, object], total: int, band: str, priority: Priority | None
) -> None:
    result = news2_score(**_full(**overrides))  # type: ignore[arg-type]
    assert (result.total, result.band, result.priority) == (total, band, priority)
    assert not result.partial
    assert result.missing == ()
    assert result.reasons[0].key == f"triage.news2.full.{band.replace('-', '_')}"
    assert result.rule_set_version == RULE_SET_VERSION


def test_full_score_lists_parameters_in_chart_order() -> None:
    result = news2_score(**_full())  # type: ignore[arg-type]
    assert tuple(result.subscores) == NEWS2_PARAMETERS


def test_home_score_is_partial_and_says_so() -> None:
    result = news2_score(spo2=91, pulse=131, systolic=120)
    assert result.partial
    assert result.missing == ("respiration_rate", "consciousness", "temperature")
    assert result.total == 6
    assert result.band == "medium"
    first = result.reasons[0]
    assert first.key == "triage.news2.partial.medium"
    assert first.params == {
        "total": 6,
        "present_count": 4,
        "parameter_count": 7,
        "missing_count": 3,
    }
    keys = [r.key for r in result.reasons]
    for name in result.missing:
        assert f"triage.news2.missing.{name}" in keys
    assert "triage.news2.single_parameter.spo2" in keys
    assert "triage.news2.single_parameter.pulse" in keys
    assert keys[-1] == "triage.news2.not_validated_remote"
    assert not any(key.startswith("triage.news2.full.") for key in keys)


def test_empty_score_reports_everything_missing() -> None:
    result = news2_score(on_oxygen=None)
    assert result.total == 0
    assert result.missing == NEWS2_PARAMETERS
    assert result.subscores == {}
    assert result.partial


def test_single_three_reason_carries_the_value() -> None:
    result = news2_score(**_full(temperature_c=34.5))  # type: ignore[arg-type]
    reason = next(r for r in result.reasons if r.key == "triage.news2.single_parameter.temperature")
    assert reason.params == {"value": 34.5}
    confused = news2_score(**_full(consciousness="new_confusion"))  # type: ignore[arg-type]
    assert "triage.news2.single_parameter.consciousness" in [r.key for r in confused.reasons]


def test_scale_2_is_named_in_the_reasons() -> None:
    result = news2_score(spo2=89, spo2_scale=2)
    assert result.spo2_scale == 2
    assert result.subscores["spo2"] == 0
    assert "triage.news2.scale_2" in [r.key for r in result.reasons]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spo2_scale": 3}, "scale must be 1 or 2"),
        ({"spo2_scale": True}, "scale must be 1 or 2"),
        ({"spo2": 101}, "spo2: 101"),
        ({"spo2": float("nan")}, "not a finite number"),
        ({"pulse": float("inf")}, "not a finite number"),
        ({"temperature_c": 98.6}, "temperature: 98.6"),
        ({"systolic": "120"}, "expected a number"),
        ({"respiration_rate": True}, "expected a number"),
        ({"consciousness": "asleep"}, "consciousness must be one of"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        news2_score(**kwargs)  # type: ignore[arg-type]

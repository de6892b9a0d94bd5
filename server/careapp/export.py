"""What the care app takes from the server at build time: the triage rule set as data and
the texts it shows (triage reasons from the server's catalogue, the app's own strings).

The tablet judges a reading offline with the same thresholds as `triage/`: they are read
from `triage.RULE_SET` here, never written a second time in TypeScript.

    python -m server.careapp.export caregiver_app/generated/
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import triage
from server.i18n import LOCALES, catalogue
from server.observations.config import triage_settings
from triage.rules import Ladder


def _num(value: Decimal | float | int) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def _ladder(ladder: Ladder) -> dict[str, Any]:
    return {
        "steps": [[_num(upper), points] for upper, points in ladder.steps],
        "above": ladder.above,
        "resolution": _num(ladder.resolution),
    }


def _priorities(mapping: Any) -> dict[str, str | None]:
    return {str(k): (v.value if v is not None else None) for k, v in mapping.items()}


def rules_data() -> dict[str, Any]:
    rs = triage.RULE_SET
    # The deployment's blood-pressure set, the one the server judges readings with.
    n, bp, g, s = rs.news2, triage_settings().blood_pressure, rs.glucose, rs.spo2
    return {
        "version": rs.version,
        "measurement_codes": list(triage.MEASUREMENT_CODES),
        "news2_parameters": list(triage.NEWS2_PARAMETERS),
        "news2": {
            "respiration_rate": _ladder(n.respiration_rate),
            "spo2_scale_1": _ladder(n.spo2_scale_1),
            "spo2_scale_2_air": _ladder(n.spo2_scale_2_air),
            "spo2_scale_2_oxygen": _ladder(n.spo2_scale_2_oxygen),
            "systolic": _ladder(n.systolic),
            "pulse": _ladder(n.pulse),
            "temperature": _ladder(n.temperature),
            "oxygen_points": n.oxygen_points,
            "air_points": n.air_points,
            "alert_points": n.alert_points,
            "not_alert_points": n.not_alert_points,
            "low_min": n.low_min,
            "medium_min": n.medium_min,
            "high_min": n.high_min,
            "single_parameter_trigger": n.single_parameter_trigger,
            "band_priority": _priorities(n.band_priority),
        },
        "blood_pressure": {
            "name": bp.name,
            "reason_prefix": bp.reason_prefix,
            "bands": [
                {
                    "category": b.category,
                    "systolic_min": b.systolic_min,
                    "diastolic_min": b.diastolic_min,
                }
                for b in bp.bands
            ],
            "below_bands": bp.below_bands,
            # Where follow-up starts (the top of the chart's normal band is one below it).
            "follow_up_systolic_min": min(
                b.systolic_min for b in bp.bands if bp.category_priority[b.category] is not None
            ),
            "isolated_systolic_below": bp.isolated_systolic_below,
            "crisis_systolic_min": bp.crisis_systolic_min,
            "crisis_diastolic_min": bp.crisis_diastolic_min,
            "hypotension_systolic_max": bp.hypotension_systolic_max,
            "remeasure_after_minutes": bp.remeasure_after_minutes,
            "resolution": _num(bp.resolution),
            "category_priority": _priorities(bp.category_priority),
            "target_cannot_lower": sorted(bp.target_cannot_lower),
        },
        "glucose": {
            "mmol_to_mg_dl": g.mmol_to_mg_dl,
            "resolution": _num(g.resolution),
            "level_1_below": g.level_1_below,
            "level_2_below": g.level_2_below,
            "urgent_above": g.urgent_above,
            "emergency_above": g.emergency_above,
            "default_target_low": g.default_target_low,
            "default_target_high": g.default_target_high,
            "category_priority": _priorities(g.category_priority),
        },
        "spo2": {
            "critical_at_or_below": {str(k): v for k, v in s.critical_at_or_below.items()},
            "scale_2_target_high": s.scale_2_target_high,
            "category_priority": _priorities(s.category_priority),
        },
        "consciousness_critical": sorted(rs.consciousness.critical),
        # The bounds a care plan's personal targets must stay within (the plan editor).
        "override_limits": {
            "spo2_target": [rs.override_limits.spo2_target_min, rs.override_limits.spo2_target_max],
            "glucose_target": [
                rs.override_limits.glucose_target_min,
                rs.override_limits.glucose_target_max,
            ],
            "bp_systolic_max": list(rs.override_limits.bp_systolic_max_range),
            "bp_diastolic_max": list(rs.override_limits.bp_diastolic_max_range),
        },
        "plausible": {
            code: {"low": r.low, "high": r.high, "unit": r.unit}
            for code, r in rs.plausible.ranges.items()
        },
    }


# Server catalogue domains the app shows as they are (the reason texts of triage, the
# Bluetooth reader's messages, and an alert's kind, status and timeline in the console's own
# words, so the care manager and the dispatcher name a thing alike).
SHARED_DOMAINS = ("triage.", "bluetooth.", "alerts.kind.", "alerts.status.", "alerts.timeline.")


def texts() -> dict[str, dict[str, str]]:
    return {
        locale: {k: v for k, v in catalogue(locale).items() if k.startswith(SHARED_DOMAINS)}
        for locale in LOCALES
    }


def write(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "triage-rules.json").write_text(
        json.dumps(rules_data(), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (out_dir / "server-texts.json").write_text(
        json.dumps(texts(), ensure_ascii=False, indent=1), encoding="utf-8"
    )


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "caregiver_app/generated"))

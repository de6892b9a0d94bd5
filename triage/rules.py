"""The triage rule set: every threshold as data, in one versioned set, each table with its source.

Decision support only. These tables help a dispatcher, caregiver or clinician decide what to
look at first; they never replace that person's judgement. NEWS2 was built for hospital
inpatients and is not validated for remote care, and a score from home devices usually lacks
parameters, so it is shown as a partial score.

Changing any number here changes `RULE_SET_VERSION`; every result records the version it was
computed with, so a stored result can always be explained later.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Literal

from triage.models import Priority

RULE_SET_VERSION = "2026.1"

NEWS2_SOURCE = (
    "Royal College of Physicians. National Early Warning Score (NEWS) 2: standardising the "
    "assessment of acute-illness severity in the NHS. London: RCP, 2017 (chart 1, chart 2)."
)
BP_AHA_SOURCE = (
    "Whelton PK, Carey RM, et al. 2017 ACC/AHA Guideline for the Prevention, Detection, "
    "Evaluation, and Management of High Blood Pressure in Adults (categories); American Heart "
    "Association patient chart 'Understanding Blood Pressure Readings' (hypertensive crisis: "
    "wait 5 minutes and test again; with symptoms call emergency services). Crisis is alerted "
    "at >=180 systolic or >=120 diastolic, the common protocol threshold and the safer choice. "
    "Hypotension at systolic <=90 follows NEWS2, which scores it 3."
)
BP_THAI_SOURCE = (
    "Thai Hypertension Society. 2019 Thai Guidelines on the Treatment of Hypertension "
    "(executive summary: J Med Assoc Thai 2021;104(10):1729-38), office blood pressure "
    "classification: optimal <120 and <80; normal 120-129 and/or 80-84; high normal 130-139 "
    "and/or 85-89; grade 1 140-159 and/or 90-99; grade 2 160-179 and/or 100-109; grade 3 "
    ">=180 and/or >=110; isolated systolic hypertension >=140 and <90. The worse of the two "
    "values decides. The crisis line (>=180 or >=120, re-measure after 5 minutes, with "
    "symptoms call 1669) and hypotension (systolic <=90, NEWS2) are programme policy shared "
    "with the AHA/ACC set, so the choice of set never changes who is alerted urgently."
)
# The deployment's choice; a Thai deployment uses the Thai guideline.
BpRulesName = Literal["thai_2019", "aha_acc_2017"]
GLUCOSE_SOURCE = (
    "American Diabetes Association. Standards of Care in Diabetes, section 6 (Glycemic Goals "
    "and Hypoglycemia): level 1 <70 mg/dL (3.9 mmol/L), level 2 <54 mg/dL (3.0 mmol/L), "
    "level 3 a severe event with altered mental and/or physical state needing assistance; "
    "time in range 70-180 mg/dL as the default target. Very high readings (>250 mg/dL urgent, "
    ">400 mg/dL emergency) are programme policy following ADA hyperglycaemic-crisis guidance. "
    "mmol/L to mg/dL: x 18.016 (molar mass of glucose 180.16 g/mol)."
)
SPO2_SOURCE = (
    "NEWS2 (RCP 2017) SpO2 scales 1 and 2 for the points; World Health Organization, Pulse "
    "Oximetry Training Manual (2011): SpO2 below 90 % is a clinical emergency (scale 1 critical "
    "line). Scale 2 (target 88-92 %, for hypercapnic respiratory failure) is chosen by a "
    "clinician; its critical line (<=83 %, the band NEWS2 scores 3 on scale 2) is programme "
    "policy."
)
CONSCIOUSNESS_SOURCE = (
    "NEWS2 (RCP 2017) ACVPU: new confusion, voice, pain or unresponsive scores 3. Emergency "
    "Severity Index v4 (AHRQ 2012): a patient who responds only to pain or is unresponsive "
    "needs immediate life-saving intervention (level 1), so those two are critical here."
)
PRIORITY_SOURCE = (
    "Programme policy. Colours follow the Saen Suk monitoring centre: RED panic press, fall, "
    "critical vitals; YELLOW urgent vitals; GREEN abnormal, follow up at the next visit; WHITE "
    "device problems. NEWS2 response bands map to colours as the RCP response table does: "
    ">=7 emergency (RED); 5-6 or a single parameter scoring 3 urgent (YELLOW); 1-4 assessment "
    "(GREEN)."
)
RISK_SOURCE = (
    "Programme policy, from the Saen Suk target profile (living alone with no carer; limited "
    "mobility and at risk of falling; chronic disease) and the Thai Barthel ADL groups "
    "(social-bound >=12, home-bound 5-11, bed-bound 0-4). Risk only orders alerts of the same "
    "colour; it never lowers a colour."
)


def round_half_up(value: float, resolution: Decimal) -> Decimal:
    """Round to the chart's resolution, so the band matches the number a person reads."""
    return Decimal(repr(value)).quantize(resolution, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Ladder:
    """Points by upper bound: the first step whose `upper` the value does not exceed wins.

    `steps` = ((91, 3), (93, 2), (95, 1)) with `above` = 0 reads "<=91: 3, 92-93: 2, 94-95: 1,
    >=96: 0". Values are first rounded half-up to `resolution` (the chart's own precision).
    """

    steps: tuple[tuple[Decimal, int], ...]
    above: int
    resolution: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        uppers = [upper for upper, _ in self.steps]
        if uppers != sorted(uppers) or len(set(uppers)) != len(uppers):
            raise ValueError(f"ladder steps must strictly increase: {uppers}")

    def points(self, value: float) -> int:
        rounded = round_half_up(value, self.resolution)
        for upper, points in self.steps:
            if rounded <= upper:
                return points
        return self.above


def _ladder(steps: tuple[tuple[str, int], ...], above: int, resolution: str = "1") -> Ladder:
    return Ladder(
        steps=tuple((Decimal(upper), points) for upper, points in steps),
        above=above,
        resolution=Decimal(resolution),
    )


News2Band = Literal["none", "low", "low-medium", "medium", "high"]


@dataclass(frozen=True)
class News2Rules:
    """NEWS2 chart 1 (scores) and chart 2 (response thresholds)."""

    source: str
    respiration_rate: Ladder
    spo2_scale_1: Ladder
    spo2_scale_2_air: Ladder
    spo2_scale_2_oxygen: Ladder
    oxygen_points: int
    air_points: int
    systolic: Ladder
    pulse: Ladder
    temperature: Ladder
    alert_points: int
    not_alert_points: int
    low_min: int
    medium_min: int
    high_min: int
    single_parameter_trigger: int
    band_priority: MappingProxyType[str, Priority | None]


@dataclass(frozen=True)
class BpBand:
    """A category reached when systolic >= `systolic_min` or diastolic >= `diastolic_min`."""

    category: str
    systolic_min: int
    diastolic_min: int | None  # None: systolic alone decides (AHA "elevated")


@dataclass(frozen=True)
class BloodPressureRules:
    """One guideline's categories; values in mmHg, rounded to whole mmHg.

    Crisis and hypotension are checked first; then `bands`, highest first (the worse of
    systolic and diastolic decides); below every band, `below_bands`. With
    `isolated_systolic_below` set, a band reached by systolic alone while diastolic is
    below that line is reported as isolated systolic hypertension instead.
    """

    name: BpRulesName
    source: str
    # Reason keys of the bands: each set labels its categories in its own terms.
    reason_prefix: str
    bands: tuple[BpBand, ...]
    below_bands: str
    isolated_systolic_below: int | None
    crisis_systolic_min: int
    crisis_diastolic_min: int
    hypotension_systolic_max: int
    remeasure_after_minutes: int
    resolution: Decimal
    category_priority: MappingProxyType[str, Priority | None]
    # Readings at or below a care-plan target are not followed up; these categories are
    # never lowered by a target.
    target_cannot_lower: frozenset[str]


@dataclass(frozen=True)
class GlucoseRules:
    source: str
    mmol_to_mg_dl: float
    # Readings are judged at whole mg/dL, the precision meters display; this also keeps the
    # ADA's paired mmol/L figures (3.9, 3.0, 10.0, 13.9, 22.2) on the same side of each line.
    resolution: Decimal
    level_1_below: float
    level_2_below: float
    urgent_above: float
    emergency_above: float
    default_target_low: float
    default_target_high: float
    category_priority: MappingProxyType[str, Priority | None]


@dataclass(frozen=True)
class Spo2Rules:
    source: str
    # "critical" at or below these, per scale (rounded to whole %).
    critical_at_or_below: MappingProxyType[int, int]
    # Scale 2's target range; above its top, on oxygen, a reading is on the high side.
    scale_2_target_low: int
    scale_2_target_high: int
    # NEWS2 points -> category, low side and (scale 2 on oxygen) high side.
    category_priority: MappingProxyType[str, Priority | None]


@dataclass(frozen=True)
class ConsciousnessRules:
    source: str
    critical: frozenset[str]


@dataclass(frozen=True)
class PlausibleRange:
    """Values outside this range are input errors (wrong unit, device glitch), not readings."""

    low: float
    high: float
    unit: str


@dataclass(frozen=True)
class PlausibleRules:
    """Input checks: a value outside these ranges is refused as an error, never scored."""

    source: str
    ranges: MappingProxyType[str, PlausibleRange]


@dataclass(frozen=True)
class OverrideLimits:
    """Bounds on what a care plan may set, so a typo cannot switch an alert off."""

    source: str
    spo2_target_min: float
    spo2_target_max: float
    glucose_target_min: float
    glucose_target_max: float
    bp_systolic_max_range: tuple[int, int]
    bp_diastolic_max_range: tuple[int, int]


@dataclass(frozen=True)
class EventRules:
    source: str
    kind_priority: MappingProxyType[str, Priority | None]
    low_battery_percent: int


@dataclass(frozen=True)
class RiskRules:
    """Weights that order alerts within one colour (higher = seen first at equal time left)."""

    source: str
    alone_without_carer: float
    alone_with_carer: float
    bed_bound: float
    home_bound: float
    fall_risk: float
    fall_risk_on_fall: float
    per_chronic_condition: float
    chronic_conditions_cap: float
    age_80_plus: float
    age_threshold: int
    per_news2_point: float
    test_event: float


@dataclass(frozen=True)
class AdlRules:
    """Thai elderly groups by Barthel ADL (0-20): social-bound, home-bound, bed-bound."""

    source: str
    social_bound_min: int
    home_bound_min: int
    score_max: int


@dataclass(frozen=True)
class RuleSet:
    version: str
    news2: News2Rules
    # The default set (a Thai deployment's); `blood_pressure_sets` holds every choice.
    blood_pressure: BloodPressureRules
    blood_pressure_sets: MappingProxyType[str, BloodPressureRules]
    glucose: GlucoseRules
    spo2: Spo2Rules
    consciousness: ConsciousnessRules
    events: EventRules
    risk: RiskRules
    adl: AdlRules
    plausible: PlausibleRules
    override_limits: OverrideLimits


_R = Priority.RED
_Y = Priority.YELLOW
_G = Priority.GREEN
_W = Priority.WHITE

# Shared by both sets: what is urgent does not depend on which guideline names the grades.
_BP_CRISIS_AND_LOW: dict[str, Priority | None] = {
    "crisis": _Y,
    "crisis_with_symptoms": _R,
    "hypotension": _Y,
}

BP_AHA = BloodPressureRules(
    name="aha_acc_2017",
    source=BP_AHA_SOURCE,
    reason_prefix="triage.bp.",
    bands=(
        BpBand("stage_2", 140, 90),
        BpBand("stage_1", 130, 80),
        BpBand("elevated", 120, None),
    ),
    below_bands="normal",
    isolated_systolic_below=None,
    crisis_systolic_min=180,
    crisis_diastolic_min=120,
    hypotension_systolic_max=90,
    remeasure_after_minutes=5,
    resolution=Decimal(1),
    category_priority=MappingProxyType(
        {"normal": None, "elevated": None, "stage_1": _G, "stage_2": _G, **_BP_CRISIS_AND_LOW}
    ),
    target_cannot_lower=frozenset({"crisis", "crisis_with_symptoms", "hypotension"}),
)

BP_THAI = BloodPressureRules(
    name="thai_2019",
    source=BP_THAI_SOURCE,
    reason_prefix="triage.bp.thai.",
    bands=(
        BpBand("grade_3", 180, 110),
        BpBand("grade_2", 160, 100),
        BpBand("grade_1", 140, 90),
        BpBand("high_normal", 130, 85),
        BpBand("normal", 120, 80),
    ),
    below_bands="optimal",
    isolated_systolic_below=90,
    crisis_systolic_min=180,
    crisis_diastolic_min=120,
    hypotension_systolic_max=90,
    remeasure_after_minutes=5,
    resolution=Decimal(1),
    category_priority=MappingProxyType(
        {
            "optimal": None,
            "normal": None,
            "high_normal": None,
            "grade_1": _G,
            "grade_2": _G,
            "grade_3": _G,
            "isolated_systolic": _G,
            **_BP_CRISIS_AND_LOW,
        }
    ),
    target_cannot_lower=frozenset({"crisis", "crisis_with_symptoms", "hypotension"}),
)

RULE_SET = RuleSet(
    version=RULE_SET_VERSION,
    news2=News2Rules(
        source=NEWS2_SOURCE,
        respiration_rate=_ladder((("8", 3), ("11", 1), ("20", 0), ("24", 2)), above=3),
        spo2_scale_1=_ladder((("91", 3), ("93", 2), ("95", 1)), above=0),
        spo2_scale_2_air=_ladder((("83", 3), ("85", 2), ("87", 1)), above=0),
        spo2_scale_2_oxygen=_ladder(
            (("83", 3), ("85", 2), ("87", 1), ("92", 0), ("94", 1), ("96", 2)), above=3
        ),
        oxygen_points=2,
        air_points=0,
        systolic=_ladder((("90", 3), ("100", 2), ("110", 1), ("219", 0)), above=3),
        pulse=_ladder((("40", 3), ("50", 1), ("90", 0), ("110", 1), ("130", 2)), above=3),
        temperature=_ladder(
            (("35.0", 3), ("36.0", 1), ("38.0", 0), ("39.0", 1)), above=2, resolution="0.1"
        ),
        alert_points=0,
        not_alert_points=3,
        low_min=1,
        medium_min=5,
        high_min=7,
        single_parameter_trigger=3,
        band_priority=MappingProxyType(
            {"none": None, "low": _G, "low-medium": _Y, "medium": _Y, "high": _R}
        ),
    ),
    blood_pressure=BP_THAI,
    blood_pressure_sets=MappingProxyType({"thai_2019": BP_THAI, "aha_acc_2017": BP_AHA}),
    glucose=GlucoseRules(
        source=GLUCOSE_SOURCE,
        mmol_to_mg_dl=18.016,
        resolution=Decimal(1),
        level_1_below=70,
        level_2_below=54,
        urgent_above=250,
        emergency_above=400,
        default_target_low=70,
        default_target_high=180,
        category_priority=MappingProxyType(
            {
                "hypo_level_3": _R,
                "hypo_level_2": _R,
                "hypo_level_1": _Y,
                "below_target": _G,
                "in_range": None,
                "above_target": _G,
                "high_urgent": _Y,
                "high_emergency": _R,
            }
        ),
    ),
    spo2=Spo2Rules(
        source=SPO2_SOURCE,
        critical_at_or_below=MappingProxyType({1: 89, 2: 83}),
        scale_2_target_low=88,
        scale_2_target_high=92,
        category_priority=MappingProxyType(
            {
                "normal": None,
                "low": _G,
                "very_low": _Y,
                "critical": _R,
                "high_on_oxygen": _G,
                "very_high_on_oxygen": _Y,
            }
        ),
    ),
    consciousness=ConsciousnessRules(
        source=CONSCIOUSNESS_SOURCE,
        critical=frozenset({"pain", "unresponsive"}),
    ),
    events=EventRules(
        source=PRIORITY_SOURCE,
        kind_priority=MappingProxyType(
            {
                "panic": _R,
                "fall": _R,
                "heartbeat": None,
                "missed_checkin": _W,
                "low_battery": _W,
                "battery": _W,  # only when the level is at or below low_battery_percent
                "device_status": _W,  # only when the status is a problem
            }
        ),
        low_battery_percent=20,
    ),
    risk=RiskRules(
        source=RISK_SOURCE,
        alone_without_carer=3.0,
        alone_with_carer=1.0,
        bed_bound=3.0,
        home_bound=1.5,
        fall_risk=1.0,
        fall_risk_on_fall=1.0,
        per_chronic_condition=0.5,
        chronic_conditions_cap=2.0,
        age_80_plus=1.0,
        age_threshold=80,
        per_news2_point=0.5,
        test_event=-100.0,
    ),
    adl=AdlRules(
        source=(
            "Department of Health, Thai Ministry of Public Health: elderly groups by Barthel "
            "ADL index (0-20): social-bound >=12, home-bound 5-11, bed-bound 0-4."
        ),
        social_bound_min=12,
        home_bound_min=5,
        score_max=20,
    ),
    plausible=PlausibleRules(
        source=(
            "Programme policy: the widest values home devices and people can produce; outside "
            "them a number is a unit mix-up (°F, kPa, mmol/L as mg/dL) or a device fault."
        ),
        ranges=MappingProxyType(
            {
                "systolic": PlausibleRange(40, 300, "mmHg"),
                "diastolic": PlausibleRange(20, 200, "mmHg"),
                "mean_arterial_pressure": PlausibleRange(30, 250, "mmHg"),
                "pulse": PlausibleRange(20, 300, "/min"),
                "spo2": PlausibleRange(1, 100, "%"),
                "glucose": PlausibleRange(10, 1500, "mg/dL"),
                "temperature": PlausibleRange(25, 45, "°C"),
                "respiration_rate": PlausibleRange(2, 80, "/min"),
            }
        ),
    ),
    override_limits=OverrideLimits(
        source=(
            "Programme policy: care-plan targets stay inside the emergency lines of this rule "
            "set (SpO2 70-100 %, glucose 54-400 mg/dL, BP goals 100-180 / 60-110 mmHg)."
        ),
        spo2_target_min=70,
        spo2_target_max=100,
        glucose_target_min=54,
        glucose_target_max=400,
        bp_systolic_max_range=(100, 180),
        bp_diastolic_max_range=(60, 110),
    ),
)

"""Triage: how urgent is a reading or an event? A pure core (standard library and pydantic only).

Decision support only. Everything here helps a dispatcher, caregiver or clinician decide what
to look at first; it never replaces their judgement, and the texts shown with a result say so.
NEWS2 was built for hospital inpatients and is not validated for remote care; a score from
home devices usually lacks parameters, is flagged `partial`, lists what is `missing`, and is
worded as a partial score, never as a full one.

Every threshold is data in one versioned rule set (`RULE_SET`, `RULE_SET_VERSION`), each table
with its source; every result carries the version and its reasons as i18n keys with
parameters (texts: `server/i18n/locales/{th,en}/triage.json`; keys: `REASON_KEYS`).
"""

from triage.bp import BloodPressureAssessment, BpCategory, assess_blood_pressure
from triage.glucose import GlucoseAssessment, GlucoseCategory, assess_glucose, to_mg_dl
from triage.models import Consciousness, Priority, Reason, most_urgent, priority_rank
from triage.news2 import News2Result, news2_score
from triage.overrides import BpTarget, Overrides, TargetRange
from triage.priority import EVENT_KINDS, PriorityResult, prioritise_event, profile_risk
from triage.profile import AdlGroup, ElderProfile, adl_group
from triage.queue import QueueItem, order_alerts, queue_key
from triage.reasons import MEASUREMENT_CODES, NEWS2_PARAMETERS, REASON_KEYS, REASON_PARAMS
from triage.rules import (
    RULE_SET,
    RULE_SET_VERSION,
    BloodPressureRules,
    BpRulesName,
    News2Band,
    RuleSet,
)
from triage.spo2 import Spo2Assessment, Spo2Category, assess_spo2
from triage.validate import ImplausibleReading
from triage.vitals import VitalsAssessment, assess_vitals

__all__ = [
    "EVENT_KINDS",
    "MEASUREMENT_CODES",
    "NEWS2_PARAMETERS",
    "REASON_KEYS",
    "REASON_PARAMS",
    "RULE_SET",
    "RULE_SET_VERSION",
    "AdlGroup",
    "BloodPressureAssessment",
    "BloodPressureRules",
    "BpCategory",
    "BpRulesName",
    "BpTarget",
    "Consciousness",
    "ElderProfile",
    "GlucoseAssessment",
    "GlucoseCategory",
    "ImplausibleReading",
    "News2Band",
    "News2Result",
    "Overrides",
    "Priority",
    "PriorityResult",
    "QueueItem",
    "Reason",
    "RuleSet",
    "Spo2Assessment",
    "Spo2Category",
    "TargetRange",
    "VitalsAssessment",
    "adl_group",
    "assess_blood_pressure",
    "assess_glucose",
    "assess_spo2",
    "assess_vitals",
    "most_urgent",
    "news2_score",
    "order_alerts",
    "prioritise_event",
    "priority_rank",
    "profile_risk",
    "queue_key",
    "to_mg_dl",
]

"""Registry rows as FHIR R4 resources (plain JSON dicts). Pure: no database, no web.

Codes are LOINC with UCUM units, as in the project's clinical reference: BP panel 85354-9 with
components 8480-6 / 8462-4 (mm[Hg]); heart rate 8867-4 (/min); SpO2 59408-5 and 2708-6 (%);
respiratory rate 9279-1; body temperature 8310-5 (Cel); glucose 2339-0 (mg/dL), 41653-7 for a
glucometer's capillary reading, 15074-8 (mmol/L); Barthel total 96761-2. Home visit: HH.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from server.alerts.models import Alert, AlertStatus
from server.care.models import Visit, VisitStatus
from server.common.time import as_utc
from server.elders.models import Elder, EmergencyContact
from server.observations.models import Observation, ObservationSource, ObservationValue

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# The Thai citizen ID (เลขประจำตัวประชาชน) as the Thai Core implementation guide names it.
TH_CID = "https://terms.sil-th.org/id/th-cid"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v2-0131"

# code → (LOINC, display, UCUM unit)
VITALS: dict[str, tuple[str, str, str]] = {
    "pulse": ("8867-4", "Heart rate", "/min"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    "respiration_rate": ("9279-1", "Respiratory rate", "/min"),
    "temperature": ("8310-5", "Body temperature", "Cel"),
}
SPO2_ALSO = ("2708-6", "Oxygen saturation in Arterial blood")
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
GLUCOSE_MG = ("2339-0", "Glucose [Mass/volume] in Blood")
GLUCOSE_CAPILLARY = ("41653-7", "Glucose [Mass/volume] in Capillary blood by Glucometer")
GLUCOSE_MMOL = ("15074-8", "Glucose [Moles/volume] in Blood")
BARTHEL = ("96761-2", "Total score Barthel Index")
UNITS = {"mm[Hg]": "mm[Hg]", "/min": "/min", "%": "%", "Cel": "Cel", "mg/dL": "mg/dL",
         "mmol/L": "mmol/L"}  # fmt: skip
GENDER = {"female": "female", "male": "male", "other": "other"}


def _instant(value: datetime) -> str:
    return as_utc(value).isoformat()


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": UNITS.get(unit, unit)}


def _ref(kind: str, ident: uuid.UUID | str) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def patient(elder: Elder, contacts: Sequence[EmergencyContact]) -> dict[str, Any]:
    full = " ".join(p for p in (f"{elder.title or ''}{elder.first_name}", elder.last_name) if p)
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(elder.id),
        "identifier": [{"use": "official", "system": TH_CID, "value": elder.national_id}],
        "active": elder.status not in ("withdrawn", "deceased"),
        "name": [{
            "use": "official", "text": full, "family": elder.last_name,
            "given": [elder.first_name], **({"prefix": [elder.title]} if elder.title else {}),
        }],
        "gender": GENDER.get(str(elder.sex), "unknown"),
        "birthDate": elder.birth_date.isoformat(),
        "address": [{
            "use": "home", "type": "physical", "text": f"{elder.address} {elder.community}",
            "line": [elder.address, elder.community], "country": "TH",
        }],
        "communication": [{"language": {"coding": [
            {"system": "urn:ietf:bcp:47", "code": "th", "display": "Thai"}]}, "preferred": True}],
    }  # fmt: skip
    if elder.status == "deceased":
        resource["deceasedBoolean"] = True
    if elder.phone:
        resource["telecom"] = [{"system": "phone", "value": elder.phone, "use": "home"}]
    if contacts:
        resource["contact"] = [
            {
                "relationship": [{"coding": [_coding(ROLE_CODE, "C", "Emergency Contact")],
                                  "text": c.relation}],
                "name": {"text": c.name},
                "telecom": [{"system": "phone", "value": c.phone}],
            }
            for c in sorted(contacts, key=lambda c: c.position)
        ]  # fmt: skip
    if elder.latitude is not None and elder.longitude is not None:
        resource["address"][0]["extension"] = [{
            "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
            "extension": [
                {"url": "latitude", "valueDecimal": elder.latitude},
                {"url": "longitude", "valueDecimal": elder.longitude},
            ],
        }]  # fmt: skip
    return resource


def _vital(
    observation: Observation, *, suffix: str, code: list[dict[str, str]], category: str,
    encounter: uuid.UUID | None,
) -> dict[str, Any]:  # fmt: skip
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        # One reading set may become several resources: the id says which part.
        "id": f"{observation.id}-{suffix}",
        "status": "final",
        "category": [{"coding": [_coding(OBS_CATEGORY, category, category.replace("-", " ").title())]}],
        "code": {"coding": code},
        "subject": _ref("Patient", observation.elder_id),
        "effectiveDateTime": _instant(observation.observed_at),
        "issued": _instant(observation.recorded_at),
    }  # fmt: skip
    if encounter is not None:
        resource["encounter"] = _ref("Encounter", encounter)
    if observation.source == ObservationSource.DEVICE:
        resource["method"] = {"text": "home device"}
    return resource


def observations(
    observation: Observation, values: Sequence[ObservationValue], *, encounter: uuid.UUID | None
) -> list[dict[str, Any]]:
    """A reading set as FHIR Observations: a BP panel, and one resource per other vital sign."""
    by_code = {v.code: v for v in values}
    out: list[dict[str, Any]] = []
    systolic, diastolic = by_code.get("systolic"), by_code.get("diastolic")
    if systolic is not None or diastolic is not None:
        panel = _vital(observation, suffix="bp", category="vital-signs", encounter=encounter,
                       code=[_coding(LOINC, *BP_PANEL)])  # fmt: skip
        panel["component"] = [
            {"code": {"coding": [_coding(LOINC, *loinc)]},
             "valueQuantity": _quantity(v.value, v.unit)}
            for loinc, v in ((SYSTOLIC, systolic), (DIASTOLIC, diastolic)) if v is not None
        ]  # fmt: skip
        out.append(panel)
    for code, (loinc, display, _unit) in VITALS.items():
        value = by_code.get(code)
        if value is None:
            continue
        coding = [_coding(LOINC, loinc, display)]
        if code == "spo2":
            coding.append(_coding(LOINC, *SPO2_ALSO))
        resource = _vital(observation, suffix=code, category="vital-signs", encounter=encounter,
                          code=coding)  # fmt: skip
        resource["valueQuantity"] = _quantity(value.value, value.unit)
        out.append(resource)
    glucose = by_code.get("glucose")
    if glucose is not None:
        glucose_code: tuple[str, str]
        if glucose.unit == "mmol/L":
            glucose_code = GLUCOSE_MMOL
        elif observation.source == ObservationSource.DEVICE or observation.device_id:
            glucose_code = GLUCOSE_CAPILLARY
        else:
            glucose_code = GLUCOSE_MG
        resource = _vital(observation, suffix="glucose", category="laboratory",
                          encounter=encounter, code=[_coding(LOINC, *glucose_code)])  # fmt: skip
        resource["valueQuantity"] = _quantity(glucose.value, glucose.unit)
        out.append(resource)
    return out


def barthel(visit: Visit) -> dict[str, Any] | None:
    """The ADL score taken at a visit (Thai practice: the 0–20 Barthel scale)."""
    if visit.adl_score is None or visit.ended_at is None:
        return None
    return {
        "resourceType": "Observation",
        "id": f"{visit.id}-barthel",
        "status": "final",
        "category": [{"coding": [_coding(OBS_CATEGORY, "survey", "Survey")]}],
        "code": {"coding": [_coding(LOINC, *BARTHEL)], "text": "Barthel ADL (0-20)"},
        "subject": _ref("Patient", visit.elder_id),
        "encounter": _ref("Encounter", visit.id),
        "effectiveDateTime": _instant(visit.ended_at),
        "valueQuantity": {"value": visit.adl_score, "unit": "{score}", "system": UCUM,
                          "code": "{score}"},
        "note": [{"text": "Barthel ADL index, 0-20 scale"}],
    }  # fmt: skip


def encounter(visit: Visit) -> dict[str, Any]:
    status = {
        VisitStatus.COMPLETED: "finished", VisitStatus.IN_PROGRESS: "in-progress",
        VisitStatus.SCHEDULED: "planned", VisitStatus.CANCELLED: "cancelled",
        VisitStatus.MISSED: "cancelled",
    }[visit.status]  # fmt: skip
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(visit.id),
        "status": status,
        "class": _coding(ACT_CODE, "HH", "home health"),
        "type": [{"text": f"home visit ({visit.role})"}],
        "subject": _ref("Patient", visit.elder_id),
    }
    start = visit.started_at or visit.planned_at or visit.due_by
    if start is not None:
        period: dict[str, str] = {"start": _instant(start)}
        if visit.ended_at is not None:
            period["end"] = _instant(visit.ended_at)
        resource["period"] = period
    return resource


def flag(alert: Alert) -> dict[str, Any]:
    """An emergency alert as a Flag: active while open, inactive once closed."""
    closed = alert.closed_at or alert.resolved_at or alert.transported_at
    open_statuses = {AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.DISPATCHED,
                     AlertStatus.ON_SCENE}  # fmt: skip
    period: dict[str, str] = {"start": _instant(alert.created_at)}
    if closed is not None and alert.status not in open_statuses:
        period["end"] = _instant(closed)
    return {
        "resourceType": "Flag",
        "id": str(alert.id),
        "status": "active" if alert.status in open_statuses else "inactive",
        "category": [{"coding": [_coding(FLAG_CATEGORY, "safety", "Safety")]}],
        "code": {"text": f"{alert.kind} alert ({alert.priority}), {alert.status}"},
        "subject": _ref("Patient", alert.elder_id),
        "period": period,
    }

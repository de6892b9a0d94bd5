"""FHIR R4 export: every resource validates (fhir.resources, R4B models: R4's structure for
these resource types), codes are the reference's LOINC/UCUM, consent decides, audits say what left."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlmodel import Session, select

from server.alerts.models import Alert, AlertKind, AlertStatus
from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.care.models import Visit, VisitStatus
from server.common.time import utcnow
from server.config import Settings
from server.elders.models import Consent, Elder
from server.fhir import bulk
from server.fhir.resources import TH_CID
from server.observations.models import Observation, ObservationSource, ObservationValue
from tests.support.records import make_elder
from triage import Priority

AT = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
# The reference's FHIR table (clinical.md), plus the two codes the export adds: a glucometer's
# capillary glucose and the Barthel total.
REFERENCE_LOINC = {"85354-9", "8480-6", "8462-4", "8867-4", "2708-6", "59408-5", "9279-1",
                   "8310-5", "2339-0", "15074-8"}  # fmt: skip
ADDED_LOINC = {"41653-7", "96761-2"}
UNITS = {"8480-6": "mm[Hg]", "8462-4": "mm[Hg]", "8867-4": "/min", "59408-5": "%",
         "8310-5": "Cel", "2339-0": "mg/dL", "41653-7": "mg/dL", "15074-8": "mmol/L",
         "96761-2": "{score}"}  # fmt: skip


def reading(session: Session, elder: Elder, values: dict[str, tuple[float, str]], *,
            source: ObservationSource = ObservationSource.DEVICE,
            visit_id: uuid.UUID | None = None) -> Observation:  # fmt: skip
    obs = Observation(elder_id=elder.id, source=source, observed_at=AT, visit_id=visit_id)
    session.add(obs)
    session.flush()
    for code, (value, unit) in values.items():
        session.add(ObservationValue(observation_id=obs.id, elder_id=elder.id, observed_at=AT,
                                     code=code, value=value, unit=unit))  # fmt: skip
    return obs


@pytest.fixture
def elders(session: Session) -> dict[str, Elder]:
    sharing = make_elder(
        session, title="นาง", first_name="สมศรี", last_name="ใจดี", phone="0811111111"
    )
    care_only = make_elder(session)
    withdrawn = make_elder(session)
    session.add(Consent(elder_id=sharing.id, given_on=date(2026, 1, 1),
                        scope=["care", "emergency", "city_data"]))  # fmt: skip
    session.add(Consent(elder_id=care_only.id, given_on=date(2026, 1, 1), scope=["care"]))
    session.add(Consent(elder_id=withdrawn.id, given_on=date(2026, 1, 1), scope=["city_data"],
                        withdrawn_on=date(2026, 6, 1)))  # fmt: skip
    for elder in (sharing, care_only, withdrawn):
        visit = Visit(elder_id=elder.id, status=VisitStatus.COMPLETED, adl_score=10,
                      started_at=AT, ended_at=AT + timedelta(minutes=40))  # fmt: skip
        session.add(visit)
        session.flush()
        reading(session, elder, {"systolic": (150, "mm[Hg]"), "diastolic": (95, "mm[Hg]"),
                                 "pulse": (80, "/min")})  # fmt: skip
        reading(session, elder, {"spo2": (95, "%"), "pulse": (82, "/min")})
        reading(session, elder, {"glucose": (110, "mg/dL")})
        reading(session, elder, {"glucose": (6.1, "mmol/L")}, source=ObservationSource.MANUAL)
        reading(session, elder, {"glucose": (120, "mg/dL"), "temperature": (37.2, "Cel")},
                source=ObservationSource.VISIT, visit_id=visit.id)  # fmt: skip
        session.add(Alert(elder_id=elder.id, kind=AlertKind.PANIC, priority=Priority.RED,
                          status=AlertStatus.RESOLVED, occurred_at=AT, created_at=AT,
                          last_pressed_at=AT, resolved_at=AT + timedelta(minutes=20),
                          closed_at=AT + timedelta(minutes=20)))  # fmt: skip
        session.add(Alert(elder_id=elder.id, kind=AlertKind.PANIC, priority=Priority.RED,
                          test=True, occurred_at=AT, last_pressed_at=AT))  # fmt: skip
    session.commit()
    return {"sharing": sharing, "care_only": care_only, "withdrawn": withdrawn}


def fetch(
    client: TestClient, headers: dict[str, str], kind: str, **params: Any
) -> list[dict[str, Any]]:
    got = client.get(f"/fhir/{kind}", params=params, headers=headers)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/fhir+json")
    bundle = got.json()
    get_fhir_model_class("Bundle").model_validate(bundle)
    assert bundle["type"] == "searchset"
    resources = [e["resource"] for e in bundle["entry"]]
    for resource in resources:
        # Every resource validates against the FHIR models.
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resources


def loinc_codes(resource: dict[str, Any]) -> list[tuple[str, str | None]]:
    out = []
    for coding in resource["code"].get("coding", []):
        unit = resource.get("valueQuantity", {}).get("code")
        out.append((coding["code"], unit))
    for component in resource.get("component", []):
        out.extend((c["code"], component["valueQuantity"]["code"])
                   for c in component["code"]["coding"])  # fmt: skip
    return out


def test_export_by_consent_validates_and_is_audited(
    client: TestClient, session: Session, elders: dict[str, Elder], users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:  # fmt: skip
    headers = auth(users[Role.ADMIN])
    sharing = elders["sharing"]
    [patient] = fetch(client, headers, "Patient")
    assert patient["id"] == str(sharing.id)
    assert patient["identifier"] == [{"use": "official", "system": TH_CID,
                                      "value": sharing.national_id}]  # fmt: skip
    assert patient["name"][0]["family"] == "ใจดี" and patient["name"][0]["prefix"] == ["นาง"]
    assert patient["address"][0]["country"] == "TH"
    assert patient["contact"][0]["telecom"][0]["value"] == "0899999999"

    observations = fetch(client, headers, "Observation")
    assert {o["subject"]["reference"] for o in observations} == {f"Patient/{sharing.id}"}
    seen: dict[str, str | None] = {}
    for resource in observations:
        for code, unit in loinc_codes(resource):
            seen[code] = unit
    assert set(seen) <= REFERENCE_LOINC | ADDED_LOINC
    assert {"85354-9", "8480-6", "8462-4", "8867-4", "59408-5", "2339-0", "41653-7",
            "15074-8", "8310-5", "96761-2"} <= set(seen)  # fmt: skip
    for code, unit in UNITS.items():
        if code in seen and seen[code] is not None:
            assert seen[code] == unit, code
    bp = next(o for o in observations if o["code"]["coding"][0]["code"] == "85354-9")
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    glucose = [o for o in observations if o["category"][0]["coding"][0]["code"] == "laboratory"]
    assert len(glucose) == 3
    at_visit = [o for o in observations if "encounter" in o]
    assert at_visit and all(o["encounter"]["reference"].startswith("Encounter/") for o in at_visit)

    [encounter] = fetch(client, headers, "Encounter")
    assert encounter["class"]["code"] == "HH" and encounter["status"] == "finished"
    [flag] = fetch(client, headers, "Flag")  # the test press is not exported
    assert flag["status"] == "inactive" and "end" in flag["period"]

    entries = session.exec(
        select(AuditEntry).where(AuditEntry.action == "export", AuditEntry.entity == "fhir")
    ).all()
    assert {e.elder_id for e in entries} == {sharing.id}
    exported_obs = next(e for e in entries if e.detail["resource_type"] == "Observation")
    assert set(exported_obs.detail["ids"]) == {o["id"] for o in observations}
    summaries = session.exec(select(AuditEntry).where(AuditEntry.entity == "fhir_export")).all()
    assert {s.entity_id for s in summaries} == {"Patient", "Observation", "Encounter", "Flag"}


def test_withdrawing_consent_stops_the_next_export(
    client: TestClient, session: Session, elders: dict[str, Elder], users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:  # fmt: skip
    headers = auth(users[Role.ADMIN])
    sharing = elders["sharing"]
    assert len(fetch(client, headers, "Patient")) == 1
    consent = session.exec(select(Consent).where(Consent.elder_id == sharing.id)).one()
    withdrawn = client.post(
        f"/api/v1/elders/{sharing.id}/consents/{consent.id}/withdraw", headers=headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    for kind in ("Patient", "Observation", "Encounter", "Flag"):
        assert fetch(client, headers, kind) == [], kind


def test_paging_and_patient_filter(
    client: TestClient, session: Session, elders: dict[str, Elder], users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:  # fmt: skip
    headers = auth(users[Role.ADMIN])
    got = client.get("/fhir/Observation", params={"_count": 2}, headers=headers).json()
    assert any(link["relation"] == "next" for link in got["link"])
    assert fetch(client, headers, "Patient", patient=str(elders["care_only"].id)) == []
    assert client.get("/fhir/Patient", headers=auth(users[Role.SUPERVISOR])).status_code == 403


def test_codes_match_the_clinical_reference() -> None:
    """The reference table names these codes; when the shared reference is at hand, re-read it."""
    for candidate in (Path(__file__).parents[3] / ".." / "shared" / "reference" / "clinical.md",
                      Path("/work/shared/reference/clinical.md")):  # fmt: skip
        if candidate.is_file():
            text = candidate.read_text(encoding="utf-8")
            section = text.split("## FHIR R4 codes for export", 1)[1].split("##", 1)[0]
            assert set(re.findall(r"\b\d{4,5}-\d\b", section)) == REFERENCE_LOINC
            return
    pytest.skip("the shared clinical reference is not beside this checkout")


def test_bulk_export_writes_ndjson_for_its_owner_only(
    client: TestClient, session: Session, elders: dict[str, Elder], users: dict[Role, User],
    auth: Callable[[User], dict[str, str]], make_user: Callable[..., User],
) -> None:  # fmt: skip
    headers = auth(users[Role.ADMIN])
    kick = client.get("/fhir/$export", params={"_type": "Patient,Observation"}, headers=headers)
    assert kick.status_code == 202
    status_url = kick.headers["Content-Location"]
    manifest = _finished(client, status_url, headers)
    outputs = {o["type"]: o for o in manifest["output"]}
    assert set(outputs) == {"Patient", "Observation"} and outputs["Patient"]["count"] == 1
    got = client.get(outputs["Observation"]["url"], headers=headers)
    assert got.headers["content-type"].startswith("application/fhir+ndjson")
    lines = [json.loads(line) for line in got.text.splitlines()]
    assert len(lines) == outputs["Observation"]["count"] > 5
    for resource in lines:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert resource["subject"]["reference"] == f"Patient/{elders['sharing'].id}"
    other_admin = make_user(Role.ADMIN)
    assert client.get(status_url, headers=auth(other_admin)).status_code == 404
    bad = client.get("/fhir/$export", params={"_type": "MedicationRequest"}, headers=headers)
    assert bad.status_code == 400


def _finished(client: TestClient, status_url: str, headers: dict[str, str]) -> Any:
    """Polls the status URL as a client would: 202 while running, then the manifest."""
    deadline = time.monotonic() + 30
    while True:
        status = client.get(status_url, headers=headers)
        if status.status_code == 200:
            return status.json()
        assert status.status_code == 202, status.text
        assert status.headers["retry-after"] and status.headers["x-progress"]
        assert time.monotonic() < deadline, "the export did not finish"
        time.sleep(0.05)


def test_bulk_export_cancel_stall_and_expiry(
    client: TestClient, elders: dict[str, Elder], users: dict[Role, User],
    auth: Callable[[User], dict[str, str]], settings: Settings,
) -> None:  # fmt: skip
    headers = auth(users[Role.ADMIN])
    kick = client.get("/fhir/$export", params={"_type": "Patient"}, headers=headers)
    status_url = kick.headers["Content-Location"]
    manifest = _finished(client, status_url, headers)
    file_url = manifest["output"][0]["url"]
    assert client.get(file_url, headers=headers).status_code == 200
    # Deleting the job removes its files.
    assert client.delete(status_url, headers=headers).status_code == 202
    assert client.get(status_url, headers=headers).status_code == 404
    assert client.get(file_url, headers=headers).status_code == 404

    # A job whose worker died (its process stopped) is reported failed, not running forever.
    job_id = uuid.UUID(client.get("/fhir/$export", params={"_type": "Patient"},
                                  headers=headers).headers["Content-Location"].rsplit("/", 1)[1])  # fmt: skip
    _finished(client, f"/fhir/$export-status/{job_id}", headers)
    meta = settings.data_dir / "fhir-exports" / str(job_id) / "job.json"
    record = json.loads(meta.read_text())
    record |= {"state": "in-progress", "updated_at": (utcnow() - timedelta(hours=1)).isoformat()}
    meta.write_text(json.dumps(record))
    failed = client.get(f"/fhir/$export-status/{job_id}", headers=headers)
    assert failed.status_code == 500 and failed.json()["resourceType"] == "OperationOutcome"

    # Files live a day at most: the next kick-off removes older ones.
    record |= {"started_at": (utcnow() - timedelta(hours=25)).isoformat()}
    meta.write_text(json.dumps(record))
    assert bulk.remove_expired(settings.data_dir) == 1 and not meta.exists()

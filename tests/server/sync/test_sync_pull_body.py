"""The pull's body, written from plain rows: the shape `SyncPullOut` describes, readings with
their values and triage reasons, gzip when asked for, volunteers without readings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from server.care.schemas import SyncPullOut
from server.observations.models import Observation
from server.sync import router as sync_router
from tests.support.care_team import Team


def test_pull_body_matches_its_model_and_is_gzipped_on_request(
    client: TestClient, session: Session, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    obs_id = str(uuid.uuid4())
    record = {"id": obs_id, "type": "observation", "data": {
        "elder_id": str(team.elder.id), "observed_at": datetime.now(UTC).isoformat(),
        "readings": [{"code": "systolic", "value": 124}, {"code": "diastolic", "value": 78},
                     {"code": "glucose", "value": 6.1, "unit": "mmol/L"}],
        "device_time": "2020-01-01T00:00:00+00:00", "device_clock_suspect": True,
        "raw_hex": "1e7c00"}}  # fmt: skip
    pushed = client.post("/api/v1/sync", json={"records": [record]}, headers=team.h(team.cg))
    assert pushed.json()["counts"]["stored"] == 1
    # What the tablet read from a Bluetooth meter is kept, batched as one by one.
    stored = session.get(Observation, uuid.UUID(obs_id))
    assert stored is not None and stored.raw_hex == "1e7c00" and stored.device_clock_suspect
    assert stored.device_time == datetime(2020, 1, 1, tzinfo=UTC)

    plain = client.get("/api/v1/sync", headers={**team.h(team.cg), "Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    body = SyncPullOut.model_validate_json(plain.content)
    assert body.full and [str(e.id) for e in body.elders] == [str(team.elder.id)]
    [reading] = body.observations
    assert str(reading.id) == obs_id and reading.elder_id == team.elder.id
    assert reading.observed_at.tzinfo is not None
    assert [(r.code, r.value, r.unit) for r in reading.readings] == [
        ("systolic", 124.0, "mm[Hg]"),
        ("diastolic", 78.0, "mm[Hg]"),
        ("glucose", 6.1, "mmol/L"),
    ]
    assert reading.reasons and all(k.startswith("triage.") for k in reading.reasons)

    # Compressed when the tablet takes gzip (and the body is worth it; here it is small).
    monkeypatch.setattr(sync_router, "GZIP_FROM_BYTES", 0)
    zipped = client.get("/api/v1/sync", headers={**team.h(team.cg), "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert SyncPullOut.model_validate_json(zipped.content).observations

    volunteer = client.get("/api/v1/sync", headers=team.h(team.vol)).json()
    assert volunteer["observations"] == [] and volunteer["visits"] == []
    assert set(volunteer["elders"][0]) >= {"id", "phone"}

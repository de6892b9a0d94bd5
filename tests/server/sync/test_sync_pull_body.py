"""The pull's body, written from plain rows: the shape `SyncPullOut` describes, readings with
their values and triage reasons, gzip when asked for, volunteers without readings; and the
statements a full pull costs, the same for any number of elders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from server.auth.models import User
from server.care.schemas import SyncPullOut
from server.elders.models import EmergencyContact
from server.observations.models import Observation
from server.sync import pull as sync_pull
from server.sync import router as sync_router
from tests.server.sync.test_sync_batch import statements_here
from tests.support.care_team import Team
from tests.support.records import make_elder


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


def test_statements_of_a_full_pull_do_not_grow_with_the_caseload(
    app: FastAPI, session: Session, team: Team
) -> None:
    """Each elder's contacts, consents, devices and each consultation's voice notes were read
    one by one: 3 queries an elder. Now the pull's statements are the same for 1 elder or 6."""

    def pull_statements() -> int:
        engine: sa.Engine = app.state.engine
        with Session(engine, expire_on_commit=False) as own:
            user = own.get(User, team.cg.id)
            assert user is not None
            held = sync_pull.record_access(own, user=user)
            own.commit()
            with statements_here(engine) as seen:
                pulled = sync_pull.pull(own, user=user, held=held, since=None, request_id="t")
            own.rollback()
        assert len(pulled.out.elders) == len(held)
        return len(seen)

    one = pull_statements()
    assert one <= 20
    for n in range(5):
        elder = make_elder(session, caregiver_id=team.cg.id, first_name=f"คนที่{n}")
        session.add(
            EmergencyContact(
                elder_id=elder.id, name="ญาติ", relation="หลาน", phone="0800000001", position=1
            )
        )
    session.commit()
    assert pull_statements() == one

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from server.auth.models import Role, User
from server.config import Settings
from server.elders.importer import COLUMNS
from tests.support.records import make_elder, thai_id


def test_audit_is_filterable_and_admin_only(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    seen, unseen = make_elder(session), make_elder(session)
    client.get(f"/api/v1/elders/{seen.id}", headers=auth(users[Role.DISPATCHER]), params={})
    client.get(
        f"/api/v1/elders/{seen.id}",
        headers={**auth(users[Role.CARE_MANAGER]), "X-Request-ID": "req-42"},
    )
    admin = auth(users[Role.ADMIN])
    rows = client.get(
        "/api/v1/audit", params={"elder_id": str(seen.id), "action": "read"}, headers=admin
    ).json()
    assert {(r["actor_username"], r["actor_role"]) for r in rows} == {
        ("dispatcher", "dispatcher"),
        ("care_manager", "care_manager"),
    }
    assert "req-42" in {r["request_id"] for r in rows}
    assert (
        client.get("/api/v1/audit", params={"elder_id": str(unseen.id)}, headers=admin).json() == []
    )
    assert client.get("/api/v1/audit", headers=auth(users[Role.SUPERVISOR])).status_code == 403
    # No operation of the API changes or removes audit rows.
    assert client.delete("/api/v1/audit", headers=admin).status_code == 405


def test_import_command_reports_bad_rows_and_imports_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "elders.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(
            f,
            fieldnames=[
                "national_id",
                "first_name",
                "last_name",
                "birth_date",
                "sex",
                "address",
                "community",
            ],
        )
        writer.writeheader()
        writer.writerow(
            {
                "national_id": thai_id(),
                "first_name": "ก",
                "last_name": "ข",
                "birth_date": "1950-01-01",
                "sex": "female",
                "address": "1",
                "community": "ค",
            }
        )
        writer.writerow(
            {
                "national_id": "123",
                "first_name": "ก",
                "last_name": "ข",
                "birth_date": "1950-01-01",
                "sex": "robot",
                "address": "1",
                "community": "ค",
            }
        )
    env = {"ELDERCARE_DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "server.cli", "import", "elders", str(path)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "row 3, column national_id" in run.stderr and "row 3, column sex" in run.stderr
    assert set(COLUMNS) >= {"national_id", "sex"}

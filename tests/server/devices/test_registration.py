"""Registering devices and hub tokens: the API, the hubs page and `eldercare devices add`
call one service, so each writes the device, the token and their audit rows in one commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from server.audit import service as audit
from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.config import Settings
from server.devices import service
from server.devices.models import Device, DeviceKind, HubToken
from tests.support.cli import run_cli
from tests.support.records import make_elder


def _audit_entities(session: Session) -> list[str]:
    rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
    return [row.entity for row in rows if row.action != "read"]


def test_cli_registers_a_hub_with_its_token_and_audit_rows(
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    elder = make_elder(session)
    code = run_cli(
        monkeypatch, "devices", "add", "--elder", str(elder.id), "--label", "บ้าน",
        database_url=settings.database_url, secret_key=settings.secret_key,
    )  # fmt: skip
    assert code == 0
    token = capsys.readouterr().out.split("keep it on the hub only): ")[1].strip()
    session.expire_all()
    identity = service.authenticate_hub(session, f"Bearer {token}")
    assert identity is not None and identity.elder_id == elder.id
    hub = session.get(Device, identity.device_id)
    assert hub is not None and hub.kind == DeviceKind.HUB and hub.label == "บ้าน"
    # The command line writes the same audit rows as the API and the page (it used to write none).
    assert _audit_entities(session) == ["device", "hub_token"]
    entries = session.exec(select(AuditEntry)).all()
    assert {e.elder_id for e in entries} == {elder.id}
    assert all(e.actor_id is None for e in entries)


def test_cli_refuses_an_unknown_elder_and_writes_nothing(
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_cli(
        monkeypatch, "devices", "add", "--elder", "00000000-0000-0000-0000-000000000001",
        database_url=settings.database_url,
    )  # fmt: skip
    assert code == 2
    assert "no elder" in capsys.readouterr().err
    assert session.exec(select(Device)).all() == []
    assert _audit_entities(session) == []


def test_api_registers_a_device_and_issues_and_revokes_hub_tokens(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    admin = auth(users[Role.ADMIN])
    elder = make_elder(session)
    made = client.post(f"/api/v1/elders/{elder.id}/devices", headers=admin, json={"kind": "hub"})
    assert made.status_code == 201, made.text
    hub_id = uuid.UUID(made.json()["id"])
    issued = client.post(f"/api/v1/devices/{hub_id}/hub-token", headers=admin)
    assert issued.status_code == 201
    token_id = issued.json()["id"]
    for _ in range(2):  # revoking twice revokes (and audits) once
        revoked = client.post(f"/api/v1/hub-tokens/{token_id}/revoke", headers=admin)
        assert revoked.status_code == 200
    session.expire_all()
    # Through the API a hub gets its first token at registration, and one more when asked.
    assert len(session.exec(select(HubToken).where(HubToken.device_id == hub_id)).all()) == 2
    assert _audit_entities(session) == ["device", "hub_token", "hub_token", "hub_token"]
    actions = [e.action for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))]
    assert actions == ["create", "create", "create", "revoke"]
    monitor = client.post(
        f"/api/v1/elders/{elder.id}/devices", headers=admin, json={"kind": "bp_monitor"}
    )
    refused = client.post(f"/api/v1/devices/{monitor.json()['id']}/hub-token", headers=admin)
    assert refused.status_code == 422 and refused.json()["detail"]["code"] == "not_a_hub"
    shown = client.get(f"/api/v1/elders/{elder.id}", headers=admin).json()
    assert [d["kind"] for d in shown["devices"]] == ["hub", "bp_monitor"]


def test_a_registration_whose_audit_write_fails_leaves_no_hub_behind(
    app: FastAPI,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elder = make_elder(session)
    real_record = audit.record

    def failing_record(db: Session, **kwargs: Any) -> AuditEntry:
        if kwargs["entity"] == "hub_token":
            raise RuntimeError("audit log unavailable")
        return real_record(db, **kwargs)

    monkeypatch.setattr(audit, "record", failing_record)
    with TestClient(app, raise_server_exceptions=False) as client:
        made = client.post(
            f"/api/v1/elders/{elder.id}/devices",
            headers=auth(users[Role.ADMIN]),
            json={"kind": "hub"},
        )
    assert made.status_code == 500
    session.expire_all()
    # The device row was flushed before the token's audit row failed: nothing of it remains.
    assert session.exec(select(Device)).all() == []
    assert session.exec(select(HubToken)).all() == []
    assert _audit_entities(session) == []

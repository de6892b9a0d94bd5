"""Who is on duty: shifts in Bangkok time (across midnight), backups, overrides; the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from server.auth.models import Role, User
from server.common.time import BANGKOK
from server.oncall import roster
from server.oncall.models import Duty, TeamKind


def _names(session: Session, at: datetime) -> list[tuple[str, str]]:
    return [(d.duty.value, d.user.full_name) for d in roster.on_duty(session, at=at)]


def test_night_shift_crosses_midnight_in_bangkok(
    session: Session, make_user: Callable[..., User]
) -> None:
    night, day, backup = (make_user(Role.DISPATCHER) for _ in range(3))
    night.full_name, day.full_name, backup.full_name = "Night", "Day", "Backup"
    session.add_all([night, day, backup])
    team = roster.add_team(session, name="Centre", kind=TeamKind.CENTRE)
    # Night: Mondays only, 20:00 → 08:00 the next morning. Day: every day 08:00 → 20:00.
    roster.add_shift(session, team_id=team.id, values={
        "name": "night", "duty": Duty.DISPATCHER, "weekdays": [0], "starts": time(20),
        "ends": time(8), "user_id": night.id, "backup_user_id": backup.id})  # fmt: skip
    roster.add_shift(session, team_id=team.id, values={
        "name": "day", "duty": Duty.DISPATCHER, "weekdays": [], "starts": time(8),
        "ends": time(20), "user_id": day.id, "backup_user_id": None})  # fmt: skip
    session.commit()
    monday = datetime(2026, 11, 30, tzinfo=BANGKOK)
    assert monday.weekday() == 0
    assert _names(session, monday.replace(hour=19, minute=59)) == [("dispatcher", "Day")]
    assert _names(session, monday.replace(hour=20)) == [("dispatcher", "Night")]
    # 03:00 on Tuesday is still Monday's night shift (and its end is Tuesday 08:00 local).
    tuesday_3am = monday + timedelta(days=1, hours=3)
    entries = roster.on_duty(session, at=tuesday_3am)
    assert [(e.user.full_name, e.backup.full_name if e.backup else None) for e in entries] == [
        ("Night", "Backup")
    ]
    assert entries[0].until == monday + timedelta(days=1, hours=8)
    # Tuesday night has no night shift (Mondays only): nobody between 20:00 and 08:00.
    assert _names(session, monday + timedelta(days=1, hours=21)) == []
    # The same instant given in UTC: 20:30 UTC Monday is 03:30 Tuesday in Bangkok.
    assert _names(session, datetime(2026, 11, 30, 20, 30, tzinfo=UTC)) == [("dispatcher", "Night")]


def test_override_replaces_for_its_window_and_keeps_the_backup(
    session: Session, make_user: Callable[..., User], users: dict[Role, User]
) -> None:
    regular, sick_cover, backup = (make_user(Role.DISPATCHER) for _ in range(3))
    regular.full_name, sick_cover.full_name = "Regular", "Cover"
    session.add_all([regular, sick_cover])
    team = roster.add_team(session, name="Centre", kind=TeamKind.CENTRE)
    roster.add_shift(session, team_id=team.id, values={
        "name": "all day", "duty": Duty.DISPATCHER, "weekdays": [], "starts": time(0),
        "ends": time(0, 0, 1), "user_id": regular.id, "backup_user_id": backup.id})  # fmt: skip
    roster.add_shift(session, team_id=team.id, values={
        "name": "rest", "duty": Duty.DISPATCHER, "weekdays": [], "starts": time(0, 0, 1),
        "ends": time(0), "user_id": regular.id, "backup_user_id": backup.id})  # fmt: skip
    start = datetime(2026, 12, 1, 22, tzinfo=BANGKOK)
    roster.add_override(session, team_id=team.id, actor=users[Role.SUPERVISOR], values={
        "duty": Duty.DISPATCHER, "user_id": sick_cover.id, "replaces_user_id": regular.id,
        "starts_at": start, "ends_at": start + timedelta(hours=10), "note": "sick"})  # fmt: skip
    session.commit()
    assert _names(session, start - timedelta(minutes=1)) == [("dispatcher", "Regular")]
    during = roster.on_duty(session, at=start + timedelta(hours=5))
    assert [
        (e.user.full_name, e.via_override, e.backup.id if e.backup else None) for e in during
    ] == [("Cover", True, backup.id)]
    assert _names(session, start + timedelta(hours=10)) == [("dispatcher", "Regular")]


def test_roster_api_and_who_is_on_duty(
    client: TestClient,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    sup = auth(users[Role.SUPERVISOR])
    team = client.post(
        "/api/v1/oncall/teams", json={"name": "Centre", "kind": "centre"}, headers=sup
    )
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    dispatcher = users[Role.DISPATCHER]
    assert (
        client.post(
            f"/api/v1/oncall/teams/{team_id}/members",
            json={"user_id": str(dispatcher.id), "phone": "0812223333"},
            headers=sup,
        ).status_code
        == 201
    )
    shift = client.post(
        f"/api/v1/oncall/teams/{team_id}/shifts",
        json={"name": "night", "duty": "dispatcher", "starts": "20:00", "ends": "08:00",
              "user_id": str(dispatcher.id)},
        headers=sup,
    )  # fmt: skip
    assert shift.status_code == 201, shift.text
    now = client.get(
        "/api/v1/oncall/now", params={"at": "2026-12-01T03:00:00+07:00"}, headers=sup
    ).json()
    assert [(e["name"], e["phone"], e["duty"]) for e in now] == [
        (dispatcher.full_name, "0812223333", "dispatcher")
    ]
    assert (
        client.get(
            "/api/v1/oncall/now", params={"at": "2026-12-01T12:00:00+07:00"}, headers=sup
        ).json()
        == []
    )
    # Bad input names the problem; a dispatcher may read but not edit.
    bad = client.post(
        f"/api/v1/oncall/teams/{team_id}/shifts",
        json={"name": "x", "duty": "dispatcher", "starts": "08:00", "ends": "08:00",
              "user_id": str(dispatcher.id)},
        headers=sup,
    )  # fmt: skip
    assert bad.status_code == 422
    assert client.post(
        "/api/v1/oncall/teams", json={"name": "X", "kind": "centre"},
        headers=auth(dispatcher),
    ).status_code == 403  # fmt: skip
    assert client.get("/api/v1/oncall/now", headers=auth(users[Role.CAREGIVER])).status_code == 403


def test_policies_are_versioned_and_default_red_is_the_documented_chain(
    client: TestClient, users: dict[Role, User], auth: Callable[[User], dict[str, str]]
) -> None:
    sup = auth(users[Role.SUPERVISOR])
    red = client.get("/api/v1/oncall/policies/RED", headers=sup).json()
    assert red["version"] == 0 and red["built_in"]
    assert [(s["after_seconds"], s["action"], s["target"]) for s in red["body"]["steps"]] == [
        (0, "console", "dispatcher"),
        (60, "call", "dispatcher"),
        (120, "call", "supervisor"),
        (180, "call", "backup"),
        (180, "sms", "team"),
    ]
    assert red["body"]["repeat_after_seconds"] == 180
    body = {"steps": [{"after_seconds": 30, "action": "call", "target": "dispatcher"}]}
    saved = client.put("/api/v1/oncall/policies/RED", json=body, headers=sup)
    assert saved.status_code == 200 and saved.json()["version"] == 1
    assert client.put("/api/v1/oncall/policies/RED", json=body, headers=sup).json()["version"] == 2
    unordered = {"steps": [{"after_seconds": 60, "action": "call", "target": "dispatcher"},
                           {"after_seconds": 30, "action": "sms", "target": "team"}]}  # fmt: skip
    assert client.put("/api/v1/oncall/policies/RED", json=unordered, headers=sup).status_code == 422
    assert (
        client.put(
            "/api/v1/oncall/policies/RED", json=body, headers=auth(users[Role.DISPATCHER])
        ).status_code
        == 403
    )

"""The roster, policy and LINE-code pages at the HTTP level: who may use them, and that each
form changes what the API then reads (the browser test drives the same forms in Chromium)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.auth.models import Role, User
from server.notify.models import LineLink, Notification
from tests.support.records import make_elder


def test_only_supervisors_and_admins_edit(
    client: TestClient, users: dict[Role, User], auth: Callable[[User], dict[str, str]]
) -> None:
    for role in (Role.DISPATCHER, Role.CAREGIVER, Role.CARE_MANAGER):
        headers = auth(users[role])
        assert client.get("/oncall/manage", headers=headers).status_code == 403
        assert client.get("/oncall/line-codes", headers=headers).status_code == 403
        assert (
            client.post(
                "/oncall/manage/teams", data={"name": "X", "kind": "centre"}, headers=headers
            ).status_code
            == 403
        )
    for role in (Role.SUPERVISOR, Role.ADMIN):
        assert client.get("/oncall/manage", headers=auth(users[role])).status_code == 200
    assert client.get("/oncall/manage", follow_redirects=False).status_code in (303, 401)


def test_forms_edit_teams_members_shifts_and_policies(
    client: TestClient, users: dict[Role, User], auth: Callable[[User], dict[str, str]]
) -> None:
    sup = auth(users[Role.SUPERVISOR])
    dispatcher = users[Role.DISPATCHER]
    page = client.post("/oncall/manage/teams", data={"name": "ศูนย์ 24 ชม.", "kind": "centre"},
                       headers=sup)  # fmt: skip
    assert page.status_code == 200 and "เพิ่มทีมแล้ว" in page.text
    again = client.post("/oncall/manage/teams", data={"name": "ศูนย์ 24 ชม.", "kind": "centre"},
                        headers=sup)  # fmt: skip
    assert again.status_code == 409
    (team,) = client.get("/api/v1/oncall/teams", headers=sup).json()
    base = f"/oncall/manage/teams/{team['id']}"
    assert client.post(f"{base}/members", data={"user_id": str(dispatcher.id),
                       "phone": "081-000-0000"}, headers=sup).status_code == 200  # fmt: skip
    (member,) = client.get(f"/api/v1/oncall/teams/{team['id']}/members", headers=sup).json()
    assert member["phone"] == "081-000-0000"
    night = {"name": "ดึก", "duty": "dispatcher", "starts": "22:00", "ends": "06:00",
             "user_id": str(dispatcher.id), "backup_user_id": "", "weekdays": ["4", "5"]}  # fmt: skip
    assert client.post(f"{base}/shifts", data=night, headers=sup).status_code == 200
    (shift,) = client.get(f"/api/v1/oncall/teams/{team['id']}/shifts", headers=sup).json()
    assert (shift["starts"], shift["ends"], shift["weekdays"]) == ("22:00:00", "06:00:00", [4, 5])
    bad = client.post(f"{base}/shifts", data={**night, "ends": "22:00"}, headers=sup)
    assert bad.status_code == 422 and "โปรดตรวจสอบเวร" in bad.text
    # A 03:00 Saturday (Bangkok) is inside Friday's night shift.
    now = client.get("/api/v1/oncall/now", params={"at": "2026-12-05T03:00:00+07:00"},
                     headers=sup).json()  # fmt: skip
    assert [d["name"] for d in now] == [dispatcher.full_name]

    policy = {"after_seconds": ["0", "45", "90", ""], "action": ["console", "call", "sms", "call"],
              "target": ["dispatcher", "dispatcher", "team", "backup"],
              "repeat_after_seconds": "120", "max_rounds": "3"}  # fmt: skip
    saved = client.post("/oncall/manage/policies/RED", data=policy, headers=sup)
    assert saved.status_code == 200
    red = client.get("/api/v1/oncall/policies/RED", headers=sup).json()
    assert red["version"] == 1
    assert [(s["after_seconds"], s["action"], s["target"]) for s in red["body"]["steps"]] == [
        (0, "console", "dispatcher"), (45, "call", "dispatcher"), (90, "sms", "team"),
    ]  # fmt: skip
    assert (red["body"]["repeat_after_seconds"], red["body"]["max_rounds"]) == (120, 3)
    disordered = {**policy, "after_seconds": ["90", "45", "0", ""]}
    refused = client.post("/oncall/manage/policies/RED", data=disordered, headers=sup)
    assert refused.status_code == 422
    assert client.get("/api/v1/oncall/policies/RED", headers=sup).json()["version"] == 1

    assert (
        client.post(f"/oncall/manage/shifts/{shift['id']}/remove", headers=sup).status_code == 200
    )
    assert client.get(f"/api/v1/oncall/teams/{team['id']}/shifts", headers=sup).json() == []
    assert client.post(f"/oncall/manage/members/{member['id']}/remove",
                       headers=sup).status_code == 200  # fmt: skip
    assert client.get(f"/api/v1/oncall/teams/{team['id']}/members", headers=sup).json() == []
    assert client.post(f"/oncall/manage/members/{member['id']}/remove",
                       headers=sup).status_code == 404  # fmt: skip


def test_api_removes_members_and_ends_shifts(
    client: TestClient, users: dict[Role, User], auth: Callable[[User], dict[str, str]]
) -> None:
    sup = auth(users[Role.SUPERVISOR])
    person = users[Role.DISPATCHER]
    team = client.post("/api/v1/oncall/teams", json={"name": "C", "kind": "centre"},
                       headers=sup).json()  # fmt: skip
    member = client.post(f"/api/v1/oncall/teams/{team['id']}/members",
                         json={"user_id": str(person.id)}, headers=sup).json()  # fmt: skip
    shift = client.post(f"/api/v1/oncall/teams/{team['id']}/shifts", json={"name": "day",
                        "duty": "dispatcher", "starts": "08:00", "ends": "16:00",
                        "user_id": str(person.id)}, headers=sup).json()  # fmt: skip
    gone = f"/api/v1/oncall/teams/{team['id']}/members/{member['id']}"
    assert client.delete(gone, headers=auth(users[Role.DISPATCHER])).status_code == 403
    assert client.delete(gone, headers=sup).status_code == 204
    assert client.delete(gone, headers=sup).status_code == 404
    assert client.delete(f"/api/v1/oncall/shifts/{shift['id']}", headers=sup).status_code == 204
    assert client.get(f"/api/v1/oncall/teams/{team['id']}/shifts", headers=sup).json() == []


def test_line_code_page_finds_a_contact_and_issues_a_code(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    elder = make_elder(session, first_name="บุญมี")
    admin = auth(users[Role.ADMIN])
    found = client.get("/oncall/line-codes", params={"q": "บุญมี"}, headers=admin)
    assert found.status_code == 200
    assert "0899999999" not in found.text  # the contact's number is masked
    contact_id = re.search(r'name="contact_id" value="([^"]+)"', found.text)
    assert contact_id is not None
    issued = client.post("/oncall/line-codes", data={"contact_id": contact_id[1], "q": "บุญมี",
                         "send_sms": "true"}, headers=admin)  # fmt: skip
    assert issued.status_code == 200
    code = re.search(r'id="issued-code">(\d{6})<', issued.text)
    assert code is not None
    link = session.exec(select(LineLink).where(LineLink.code == code[1])).one()
    assert str(link.contact_id) == contact_id[1] and link.created_by == users[Role.ADMIN].id
    sms = session.exec(select(Notification).where(Notification.template_key ==
                       "notify.line.link_code")).one()  # fmt: skip
    assert sms.params == {"code": code[1]}
    assert elder.id is not None

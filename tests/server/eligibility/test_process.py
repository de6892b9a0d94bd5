"""The whole selection process through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.elders.models import Elder, ElderStatus
from server.eligibility.models import InstallationTask, RubricVersion
from tests.server.eligibility.conftest import MakeRound, answers, person
from tests.server.eligibility.test_announcement import pdf_text as pdf_to_text
from tests.support.records import make_elder

P = "/api/v1/eligibility"
Auth = Callable[[User], dict[str, str]]
# Health values, answer codes and field names that must never reach the public list.
HEALTH_WORDS = ("เบาหวาน", "Metformin", "Penicillin", "alone_no_carer", "welfare_card", "multiple",
                "difficult", '"adl"', '"falls"', '"chronic"', '"score"', '"total', '"targets',
                '"answers"', '"national_id"', '"birth_date"', "ติดบ้าน", "หกล้ม", "โรคเรื้อรัง")  # fmt: skip
NOTICE_KEYS = {"round_id", "title", "issuer", "approving_body", "approval_reference", "approved_on",
               "signer_name", "signer_position", "published_at", "appeal_deadline", "items"}  # fmt: skip


def submit(client: TestClient, auth: Auth, user: User, round_id: object, **body: object) -> dict:
    response = client.post(f"{P}/rounds/{round_id}/applications", json=body, headers=auth(user))
    assert response.status_code == 201, response.text
    return response.json()


def test_selection_from_registration_to_installation(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth,
    make_round: MakeRound, make_user: Callable[..., User],
) -> None:  # fmt: skip
    admin, committee, volunteer, cm = (
        users[Role.ADMIN],
        users[Role.COMMITTEE],
        users[Role.VOLUNTEER],
        users[Role.CARE_MANAGER],
    )
    round_ = make_round(devices=2, chair=committee)
    rid = round_.id

    # Registration: new people and a registered elder; duplicates are caught.
    a1 = submit(client, auth, volunteer, rid, person=person(1), answers=answers(),
                evidence_notes="เยี่ยมบ้าน 3 พ.ย.")  # fmt: skip
    assert a1["number"] == "R1-00001" and a1["score"]["eligible"]
    assert a1["score"]["targets_met"] == [
        "lives_alone_no_carer", "mobility_fall_risk", "chronic_poor_access",
    ]  # fmt: skip
    assert a1["answers"]["age"] >= 80  # derived from the birth date, not typed
    elder1 = session.get(Elder, uuid.UUID(a1["elder_id"]))
    assert elder1 is not None and elder1.status == ElderStatus.APPLICANT
    assert elder1.volunteer_id == volunteer.id

    registered = make_elder(session, first_name="ทองใบ", last_name="มีสุข")
    a2 = submit(client, auth, cm, rid, elder_id=str(registered.id),
                answers=answers(living="alone_occasional_help"))  # fmt: skip
    twin = person(3)
    a3 = submit(client, auth, admin, rid, person=twin, answers=answers(falls=0, access="easy"))
    a4 = submit(client, auth, admin, rid, person=person(4), answers=answers(falls=0, access="easy"))
    outside = submit(client, auth, admin, rid, person=person(5),
                     answers=answers(living="with_carer", falls=0, access="easy"))  # fmt: skip
    assert not outside["score"]["eligible"]

    # A care manager sees the registry, so is told (a volunteer is not: test_security_access).
    again = client.post(f"{P}/rounds/{rid}/applications", headers=auth(cm),
                        json={"person": {**twin, "first_name": "ชื่ออื่น"}, "answers": answers()})  # fmt: skip
    assert again.status_code == 409
    assert again.json()["detail"]["code"] == "duplicate_application"
    assert again.json()["detail"]["number"] == a3["number"]
    same_elder = client.post(f"{P}/rounds/{rid}/applications", headers=auth(cm),
                             json={"elder_id": str(registered.id), "answers": answers()})  # fmt: skip
    assert same_elder.status_code == 409
    bad = client.post(f"{P}/rounds/{rid}/applications", headers=auth(cm),
                      json={"person": person(6), "answers": answers(living="palace")})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["detail"]["problems"] == [{"criterion": "living", "code": "not_an_option"}]
    assert session.exec(select(Elder).where(Elder.first_name == "สมศรี6")).first() is None

    # A correction re-scores and keeps the earlier snapshot.
    fixed = client.patch(f"{P}/applications/{a2['id']}", headers=auth(admin),
                         json={"version": 1, "answers": answers(), "reason": "ตรวจซ้ำ: อยู่ลำพังจริง"})  # fmt: skip
    assert fixed.status_code == 200, fixed.text
    history = client.get(f"{P}/applications/{a2['id']}/scores", headers=auth(committee)).json()
    assert [h["reason"] for h in history] == ["submitted", "correction"]
    assert history[0]["total_centi"] < history[1]["total_centi"]
    assert {h["rubric_hash"] for h in history} == {a1["score"]["rubric_hash"]}

    # Volunteers see only what they submitted.
    assert client.get(f"{P}/applications/{a3['id']}", headers=auth(volunteer)).status_code == 404
    assert client.get(f"{P}/applications/{a1['id']}", headers=auth(volunteer)).status_code == 200

    # Close and rank with a seed drawn in public.
    assert client.post(f"{P}/rounds/{rid}/close", headers=auth(admin)).status_code == 200
    late = client.post(f"{P}/rounds/{rid}/applications", headers=auth(admin),
                       json={"person": person(7), "answers": answers()})  # fmt: skip
    assert late.status_code == 409 and late.json()["detail"]["code"] == "registration_closed"
    ranked = client.post(
        f"{P}/rounds/{rid}/rank", headers=auth(committee), json={"seed": "lottery-42"}
    )
    assert ranked.status_code == 200 and ranked.json()["status"] == "scored"
    page = client.get(f"{P}/rounds/{rid}/ranking", headers=auth(committee)).json()
    order = [i["number"] for i in page["items"]]
    assert order[:2] == sorted([a1["number"], a2["number"]])  # equal scores: time, then draw
    assert order[-1] == outside["number"]  # outside the target profile comes last
    assert page["cutoff_rank"] == 2 and page["seed"] == "lottery-42"
    tie = {i["number"]: i["decided_by"] for i in page["items"]}
    assert tie[order[1]] == "submitted_at"
    assert tie[a4["number"]] in ("submitted_at", "draw")
    again_rank = client.post(f"{P}/rounds/{rid}/rank", headers=auth(committee), json={})
    assert again_rank.status_code == 200
    page2 = client.get(f"{P}/rounds/{rid}/ranking", headers=auth(committee)).json()
    assert [i["number"] for i in page2["items"]] == order
    assert page2["inputs_digest"] == page["inputs_digest"]
    assert client.post(f"{P}/rounds/{rid}/rank", headers=auth(committee),
                       json={"seed": "another"}).status_code == 409  # fmt: skip
    filtered = client.get(
        f"{P}/rounds/{rid}/ranking?eligible=false", headers=auth(committee)
    ).json()
    assert [i["number"] for i in filtered["items"]] == [outside["number"]]
    by_target = client.get(f"{P}/rounds/{rid}/ranking?target=mobility_fall_risk",
                           headers=auth(committee)).json()  # fmt: skip
    assert {i["number"] for i in by_target["items"]} == {a1["number"], a2["number"]}

    # Committee: a member rejects the first; the chair closes screening.
    first_id = page["items"][0]["application_id"]
    other_member = make_user(Role.COMMITTEE)
    for member in (committee, other_member):
        vote = client.post(f"{P}/applications/{first_id}/decisions", headers=auth(member),
                           json={"decision": "reject", "reason": "มีบุตรย้ายกลับมาอยู่ด้วยแล้ว"})  # fmt: skip
        assert vote.status_code == 201, vote.text
    no_reason = client.post(f"{P}/applications/{first_id}/decisions", headers=auth(committee),
                            json={"decision": "approve", "reason": ""})  # fmt: skip
    assert no_reason.status_code == 422
    note = client.post(f"{P}/applications/{first_id}/notes", headers=auth(admin),
                       json={"text": "ตรวจสอบกับผู้นำชุมชนแล้ว"})  # fmt: skip
    assert note.status_code == 201
    not_chair = client.post(f"{P}/rounds/{rid}/close-screening", headers=auth(other_member))
    assert not_chair.status_code == 403 and not_chair.json()["detail"]["code"] == "not_chair"
    closed = client.post(f"{P}/rounds/{rid}/close-screening", headers=auth(committee))
    assert closed.status_code == 200 and closed.json()["status"] == "screened"
    outcomes = {
        i["number"]: i["outcome"]
        for i in client.get(f"{P}/rounds/{rid}/ranking", headers=auth(committee)).json()["items"]
    }
    assert outcomes[order[0]] == "rejected"
    assert [outcomes[n] for n in order[1:3]] == ["selected", "selected"]
    assert outcomes[order[3]] == "waitlisted" and outcomes[outside["number"]] == "not_eligible"

    # Approval by the municipal assistance committee, then publication.
    early = client.get(f"{P}/rounds/{rid}/announcement", headers=auth(volunteer))
    assert early.status_code == 409
    body = {"approving_body": "คณะกรรมการช่วยเหลือประชาชนเทศบาลเมืองแสนสุข",
            "reference": "มติที่ 12/2569", "signer_name": "นายสมชาย รักถิ่น",
            "signer_position": "นายกเทศมนตรีเมืองแสนสุข"}  # fmt: skip
    # A year that cannot be right (a B.E. year typed twice over) is refused in Thai.
    ce = date.today().year  # the round runs now; an approval date is near it
    be = ce + 543
    for wrong in (f"{be + 543}-12-01", f"1/12/{be + 31}", f"31/2/{be}", "พรุ่งนี้"):
        refused = client.post(f"{P}/rounds/{rid}/approve", headers=auth(admin),
                              json={**body, "approved_on": wrong})  # fmt: skip
        assert refused.status_code == 422, (wrong, refused.text)
        assert "พ.ศ." in refused.json()["detail"]["message"], refused.text
    # The B.E. year an official types into a date field is read as B.E.
    approved = client.post(f"{P}/rounds/{rid}/approve", headers=auth(admin),
                           json={**body, "approved_on": f"{be}-12-01"})  # fmt: skip
    assert approved.status_code == 200 and approved.json()["approved_on"] == f"{ce}-12-01"
    published = client.post(f"{P}/rounds/{rid}/publish", headers=auth(admin))
    assert published.status_code == 200 and published.json()["appeal_deadline"]

    selected = [n for n in order if outcomes[n] == "selected"]
    notice = client.get(f"{P}/rounds/{rid}/announcement", headers=auth(volunteer)).json()
    assert [i["number"] for i in notice["items"]] == selected
    assert [i["rank"] for i in notice["items"]] == [1, 2]
    assert all(set(i) == {"rank", "number", "name"} for i in notice["items"])
    assert all(i["name"].endswith("***") for i in notice["items"])
    assert set(notice) == NOTICE_KEYS
    public_text = json.dumps(notice, ensure_ascii=False)
    assert not [w for w in HEALTH_WORDS if w in public_text], public_text
    sheet = client.get(f"{P}/rounds/{rid}/announcement.csv", headers=auth(volunteer))
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert rows[0] == ["ลำดับ", "เลขที่ใบสมัคร", "ชื่อ-นามสกุล"]
    assert [r[1] for r in rows[1:]] == selected and all(len(r) == 3 for r in rows)
    assert not [w for w in HEALTH_WORDS if w in sheet.text]
    pdf = client.get(f"{P}/rounds/{rid}/announcement.pdf", headers=auth(volunteer))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pdf_text = pdf_to_text(pdf.content)
    assert all(n in pdf_text for n in selected) and "ประกาศเทศบาลเมืองแสนสุข" in pdf_text
    flat = "".join(pdf_text.replace("ำ9", "ำ").split())  # Thai wraps anywhere
    assert f"อนุมัติเมื่อวันที่1ธันวาคมพ.ศ.{be}" in flat and str(be + 543) not in flat
    assert "จึงประกาศให้ทราบโดยทั่วกัน" in flat and flat.endswith("(นายสมชายรักถิ่น)นายกเทศมนตรีเมืองแสนสุข")
    assert not [w for w in HEALTH_WORDS if w.strip('"') in pdf_text]
    assert outside["number"] not in pdf_text and order[0] not in pdf_text

    # The selected are enrolled with their installation tasks.
    sel_ids = {i["application_id"] for i in page["items"] if i["number"] in selected}
    tasks = client.get(f"{P}/installation-tasks?round_id={rid}", headers=auth(cm)).json()
    assert len(tasks) == 6 and {t["kind"] for t in tasks} == {
        "install_hub_and_button", "train_user", "test_press",
    }  # fmt: skip
    for item in page["items"]:
        if item["application_id"] in sel_ids:
            app = client.get(
                f"{P}/applications/{item['application_id']}", headers=auth(admin)
            ).json()
            elder = session.get(Elder, uuid.UUID(app["elder_id"]))
            session.refresh(elder)
            assert elder is not None and elder.status == ElderStatus.ENROLLED
    first_elder = tasks[0]["elder_id"]
    mine = [t for t in tasks if t["elder_id"] == first_elder]
    test_press = next(t for t in mine if t["kind"] == "test_press")
    early_press = client.post(
        f"{P}/installation-tasks/{test_press['id']}/complete", headers=auth(cm)
    )
    assert early_press.status_code == 409 and early_press.json()["detail"]["code"] == "task_order"
    # A caregiver completes tasks only for an elder assigned to them.
    not_yet = client.post(f"{P}/installation-tasks/{mine[0]['id']}/complete",
                          headers=auth(users[Role.CAREGIVER]), json={"note": "ok"})  # fmt: skip
    assert not_yet.status_code == 404
    assigned = session.get(Elder, uuid.UUID(first_elder))
    assert assigned is not None
    assigned.caregiver_id = users[Role.CAREGIVER].id
    session.add(assigned)
    session.commit()
    for kind in ("install_hub_and_button", "train_user", "test_press"):
        task = next(t for t in mine if t["kind"] == kind)
        done = client.post(f"{P}/installation-tasks/{task['id']}/complete",
                           headers=auth(users[Role.CAREGIVER]), json={"note": "ok"})  # fmt: skip
        assert done.status_code == 200 and done.json()["status"] == "done"

    # An appeal is re-scored with the round's own rubric version and can be upheld.
    waiting = next(i for i in page["items"] if outcomes[i["number"]] == "waitlisted")
    appeal = client.post(f"{P}/applications/{waiting['application_id']}/appeals",
                         headers=auth(admin), json={"reason": "หกล้มเพิ่มอีกครั้งเมื่อเดือนที่แล้ว"})  # fmt: skip
    assert appeal.status_code == 201, appeal.text
    dup_appeal = client.post(f"{P}/applications/{waiting['application_id']}/appeals",
                             headers=auth(admin), json={"reason": "ซ้ำ"})  # fmt: skip
    assert dup_appeal.status_code == 409
    decided = client.post(f"{P}/appeals/{appeal.json()['id']}/decide", headers=auth(committee),
                          json={"upheld": True, "reason": "ตรวจเยี่ยมซ้ำ พบว่าหกล้ม 2 ครั้ง",
                                "answers": answers(falls=2, access="easy")})  # fmt: skip
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "upheld" and float(body["score_after"]) > float(body["score_before"])
    history = client.get(f"{P}/applications/{waiting['application_id']}/scores",
                         headers=auth(committee)).json()  # fmt: skip
    assert history[-1]["reason"] == "appeal"
    assert history[-1]["rubric_hash"] == history[0]["rubric_hash"]
    notice = client.get(f"{P}/rounds/{rid}/announcement", headers=auth(volunteer)).json()
    assert [i["number"] for i in notice["items"]] == [*selected, waiting["number"]]
    assert session.exec(
        select(InstallationTask).where(
            InstallationTask.application_id == uuid.UUID(waiting["application_id"])
        )
    ).all()

    # Every step of the round is in the audit log.
    actions = set(
        session.exec(
            select(AuditEntry.action).where(AuditEntry.entity == "eligibility_round",
                                            AuditEntry.entity_id == str(rid))
        ).all()
    )  # fmt: skip
    assert {
        "create",
        "open",
        "closed",
        "scored",
        "rank",
        "screened",
        "approved",
        "published",
    } <= actions
    app_actions = set(
        session.exec(
            select(AuditEntry.action).where(AuditEntry.entity == "eligibility_application")
        ).all()
    )
    assert {"create", "correct", "vote", "note", "appeal", "appeal_decided", "read"} <= app_actions


def test_registration_window_is_enforced_with_a_clear_message(
    client: TestClient, users: dict[Role, User], auth: Auth, make_round: MakeRound
) -> None:
    future = make_round(code="F1", opens_in=timedelta(days=3))
    response = client.post(f"{P}/rounds/{future.id}/applications", headers=auth(users[Role.ADMIN]),
                           json={"person": person(1), "answers": answers()})  # fmt: skip
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail["code"] == "registration_closed"
    assert "ไม่อยู่ในช่วงเปิดรับลงทะเบียน" in detail["message"]
    assert str(future.opens_at.year + 543) in detail["message"]  # Buddhist Era in Thai
    english = client.post(f"{P}/rounds/{future.id}/applications?lang=en",
                          headers=auth(users[Role.ADMIN]),
                          json={"person": person(1), "answers": answers()})  # fmt: skip
    assert "Registration is not open" in english.json()["detail"]["message"]
    past = make_round(code="P1", opens_in=timedelta(days=-40), lasts=timedelta(days=30))
    ended = client.post(f"{P}/rounds/{past.id}/applications", headers=auth(users[Role.ADMIN]),
                        json={"person": person(2), "answers": answers()})  # fmt: skip
    assert ended.status_code == 409  # still marked open, but its closing time has passed
    draft = make_round(code="D1", open_=False)
    refused = client.post(f"{P}/rounds/{draft.id}/applications", headers=auth(users[Role.ADMIN]),
                          json={"person": person(3), "answers": answers()})  # fmt: skip
    assert refused.status_code == 409


def test_a_rubric_in_use_cannot_be_edited_and_old_rounds_keep_theirs(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth,
    rubric: RubricVersion, make_round: MakeRound,
) -> None:  # fmt: skip
    committee = users[Role.COMMITTEE]
    content = dict(rubric.content)
    draft_version = client.post(f"{P}/rubrics", headers=auth(committee), json={
        "name": "ฉบับที่ 2 (ร่าง)", "based_on_id": str(rubric.id), **content,
        "min_targets": 2,
    })  # fmt: skip
    assert draft_version.status_code == 201, draft_version.text
    v2 = draft_version.json()
    assert v2["content_hash"] != rubric.content_hash and not v2["locked"]
    # Not yet used: it may still change.
    edited = client.put(f"{P}/rubrics/{v2['id']}", headers=auth(committee),
                        json={"name": "ฉบับที่ 2", **content, "min_targets": 1, "adl_criterion": None})  # fmt: skip
    assert edited.status_code == 200 and edited.json()["content_hash"] != v2["content_hash"]

    round_ = make_round(code="U1")  # opens with the default rubric: now locked
    locked = client.get(f"{P}/rubrics/{rubric.id}", headers=auth(committee)).json()
    assert locked["locked"]
    refused = client.put(f"{P}/rubrics/{rubric.id}", headers=auth(committee),
                         json={"name": "แก้ไข", **content, "min_targets": 0})  # fmt: skip
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "rubric_in_use"
    session.refresh(rubric)
    assert rubric.content == content
    moved = client.patch(f"{P}/rounds/{round_.id}", headers=auth(committee),
                         json={"version": 2, "rubric_id": v2["id"]})  # fmt: skip
    assert moved.status_code == 409 and moved.json()["detail"]["code"] == "field_locked"
    out = client.get(f"{P}/rounds/{round_.id}", headers=auth(committee)).json()
    assert out["rubric_hash"] == rubric.content_hash
    invalid = client.post(f"{P}/rubrics", headers=auth(committee), json={
        "name": "x", **content, "adl_criterion": "living",
    })  # fmt: skip
    assert invalid.status_code == 422 and invalid.json()["detail"]["field"] == "adl_criterion"


def test_rank_refused_while_registration_is_open_and_round_edits_are_versioned(
    client: TestClient, users: dict[Role, User], auth: Auth, make_round: MakeRound
) -> None:
    admin = users[Role.ADMIN]
    round_ = make_round(code="V1")
    early = client.post(f"{P}/rounds/{round_.id}/rank", headers=auth(admin), json={})
    assert early.status_code == 409 and early.json()["detail"]["code"] == "wrong_status"
    ok = client.patch(
        f"{P}/rounds/{round_.id}", headers=auth(admin), json={"version": 2, "devices": 5}
    )
    assert ok.status_code == 200 and ok.json()["devices"] == 5
    stale = client.patch(
        f"{P}/rounds/{round_.id}", headers=auth(admin), json={"version": 2, "devices": 6}
    )
    assert stale.status_code == 409 and stale.json()["detail"]["code"] == "stale_version"
    malformed = client.post(f"{P}/rounds/{round_.id}/applications", headers=auth(admin),
                            content=b"{not json", )  # fmt: skip
    assert malformed.status_code == 422
    assert session_free_of_orphans(client, auth, admin, round_.id)


def session_free_of_orphans(client: TestClient, auth: Auth, admin: User, round_id: object) -> bool:
    out = client.get(f"{P}/rounds/{round_id}", headers=auth(admin)).json()
    return bool(out["applications"] == 0)


def test_evidence_attachments_are_checked_stored_and_audited(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth,
    make_round: MakeRound,
) -> None:  # fmt: skip
    volunteer, committee = users[Role.VOLUNTEER], users[Role.COMMITTEE]
    round_ = make_round(code="E1")
    app = submit(client, auth, volunteer, round_.id, person=person(1), answers=answers())
    url = f"{P}/applications/{app['id']}/attachments"
    scan = b"%PDF-1.4 scanned assessment form"
    added = client.post(url, headers=auth(volunteer),
                        files={"file": ("แบบประเมิน.pdf", scan, "application/pdf")})  # fmt: skip
    assert added.status_code == 201, added.text
    assert added.json()["size"] == len(scan) and added.json()["filename"] == "แบบประเมิน.pdf"
    refused = client.post(url, headers=auth(volunteer),
                          files={"file": ("x.exe", b"MZ", "application/octet-stream")})  # fmt: skip
    assert refused.status_code == 415
    empty = client.post(
        url, headers=auth(volunteer), files={"file": ("e.pdf", b"", "application/pdf")}
    )
    assert empty.status_code == 413
    listed = client.get(url, headers=auth(committee)).json()
    assert [a["sha256"] for a in listed] == [added.json()["sha256"]]
    got = client.get(f"{P}/attachments/{listed[0]['id']}", headers=auth(committee))
    assert got.status_code == 200 and got.content == scan
    other = users[Role.CARE_MANAGER]
    assert client.get(f"{P}/attachments/{listed[0]['id']}", headers=auth(other)).status_code == 200
    reads = session.exec(
        select(AuditEntry).where(AuditEntry.entity == "eligibility_attachment",
                                 AuditEntry.actor_id == committee.id)
    ).all()  # fmt: skip
    assert len(reads) == 1

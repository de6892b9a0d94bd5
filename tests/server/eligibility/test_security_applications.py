"""A volunteer who types a national ID the registry holds under an elder they may not see
learns nothing about that record, and cannot get that elder ranked or selected."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.elders.models import Elder, ElderStatus
from server.eligibility.models import Application, Note
from tests.server.eligibility.conftest import MakeRound, answers, person
from tests.support.records import make_elder

Auth = Callable[[User], dict[str, str]]
P = "/api/v1/eligibility"


def test_a_hidden_registry_record_is_neither_shown_nor_confirmed(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth,
    make_round: MakeRound,
) -> None:  # fmt: skip
    volunteer, admin = users[Role.VOLUNTEER], users[Role.ADMIN]
    round_ = make_round(code="S1")
    # Someone else's elder: registered, with a name, community and age the volunteer must not see.
    hidden = make_elder(
        session, first_name="ลับเฉพาะ", last_name="ในทะเบียน", community="ชุมชนที่ไม่ควรเห็น",
        status=ElderStatus.ENROLLED,
    )  # fmt: skip
    typed = person(1, national_id=hidden.national_id, first_name="ชื่อที่พิมพ์",
                   community="ชุมชนที่พิมพ์")  # fmt: skip
    first = client.post(f"{P}/rounds/{round_.id}/applications", headers=auth(volunteer),
                        json={"person": typed, "answers": answers()})  # fmt: skip
    assert first.status_code == 201, first.text
    body = first.json()
    text = first.text
    assert "ลับเฉพาะ" not in text and "ในทะเบียน" not in text and "ชุมชนที่ไม่ควรเห็น" not in text
    assert body["name"].startswith("นางชื่อที่พิมพ์") and body["community"] == "ชุมชนที่พิมพ์"
    assert "identity_check" not in body or body["identity_check"] is None
    # Reading it back later shows only what was typed.
    again = client.get(f"{P}/applications/{body['id']}", headers=auth(volunteer))
    assert again.status_code == 200 and "ลับเฉพาะ" not in again.text
    # Held: not ranked (so never selected, no installation tasks) until confirmed.
    row = session.get(Application, uuid.UUID(body["id"]))
    assert row is not None and row.identity_check and row.elder_id == hidden.id
    assert row.first_name == "ชื่อที่พิมพ์"

    # A second try (or a first try when the person already applied) is no 409 oracle either.
    second = client.post(f"{P}/rounds/{round_.id}/applications", headers=auth(volunteer),
                         json={"person": {**typed, "first_name": "อีกชื่อ"}, "answers": answers()})  # fmt: skip
    assert second.status_code == 201, second.text
    assert second.json()["number"] != body["number"] and "ลับเฉพาะ" not in second.text
    session.expire_all()
    notes = session.exec(select(Note).where(Note.application_id == row.id)).all()
    assert len(notes) == 1 and "อีกชื่อ" in notes[0].text  # nothing is lost
    held = session.exec(
        select(AuditEntry).where(AuditEntry.entity == "eligibility_submission_held")
    ).all()
    assert len(held) == 1 and held[0].elder_id == hidden.id

    # The committee sees the hold and confirms; only then does the ranking include it.
    listed = client.get(f"{P}/rounds/{round_.id}/held-applications", headers=auth(admin))
    assert [a["id"] for a in listed.json()] == [body["id"]]
    assert listed.json()[0]["identity_check"] is True
    assert client.get(f"{P}/rounds/{round_.id}/held-applications",
                      headers=auth(volunteer)).status_code == 403  # fmt: skip
    from server.eligibility import rounds

    assert str(row.id) not in {r.application_id for r in rounds.rank_inputs(session, round_.id)}
    confirmed = client.post(f"{P}/applications/{body['id']}/confirm-identity", headers=auth(admin))
    assert confirmed.status_code == 200 and confirmed.json()["identity_check"] is False
    session.expire_all()
    assert str(row.id) in {r.application_id for r in rounds.rank_inputs(session, round_.id)}

    # The registry record itself was not touched by the volunteer's submissions.
    session.refresh(hidden)
    assert hidden.first_name == "ลับเฉพาะ" and hidden.volunteer_id is None
    assert session.get(Elder, hidden.id) is not None


def test_an_elder_the_volunteer_looks_after_is_linked_as_before(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth,
    make_round: MakeRound,
) -> None:  # fmt: skip
    volunteer = users[Role.VOLUNTEER]
    round_ = make_round(code="S2")
    mine = make_elder(session, first_name="ของฉัน", volunteer_id=volunteer.id)
    reply = client.post(
        f"{P}/rounds/{round_.id}/applications", headers=auth(volunteer),
        json={"person": person(2, national_id=mine.national_id), "answers": answers()},
    )  # fmt: skip
    assert reply.status_code == 201
    assert reply.json()["name"].endswith("ของฉัน ศรีสุข") and reply.json()["elder_id"] == str(mine.id)
    row = session.get(Application, uuid.UUID(reply.json()["id"]))
    assert row is not None and not row.identity_check

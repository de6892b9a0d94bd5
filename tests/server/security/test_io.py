"""Input and output: formula-safe exports, bounded paging, the upload body limit only where
uploads go, uploads checked by content, security headers, literal search."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from server.auth.models import Role, User
from server.common.spreadsheet import safe_cell
from server.common.uploads import safe_filename, sniff_document
from server.eligibility import announce
from server.eligibility.schemas import AnnouncementItem, AnnouncementOut
from server.web import CONTENT_SECURITY_POLICY
from tests.support.records import make_elder

Auth = Callable[[User], dict[str, str]]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_announcement_csv_cells_never_start_a_formula(start: str) -> None:
    evil = f'{start}HYPERLINK("http://evil.example","x")'
    notice = AnnouncementOut(
        round_id=uuid.uuid4(), title="t", issuer="i", approving_body="b",
        approval_reference=None, approved_on=date(2026, 12, 1),
        published_at=datetime(2026, 12, 3, tzinfo=UTC), appeal_deadline=None,
        items=[AnnouncementItem(rank=1, number="SS-00001", name=evil)],
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(announce.to_csv(notice).decode("utf-8-sig"))))
    cell = rows[1][2]
    assert cell == "'" + evil and not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert rows[1][0] == "1"  # numbers stay numbers


def test_safe_cell_leaves_ordinary_values_alone() -> None:
    assert safe_cell("นางสมศรี ใจ***") == "นางสมศรี ใจ***"
    assert safe_cell(-5) == -5 and safe_cell(None) is None


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/elders?page=9223372036854775807", "page"),
        ("/api/v1/audit?offset=100000000000000000000", "offset"),
        ("/api/v1/audit?offset=1e20", "offset"),
        ("/api/v1/eligibility/installation-tasks?page=9223372036854775807", "page"),
    ],
)
def test_huge_paging_values_are_a_422_naming_the_field(
    client: TestClient, users: dict[Role, User], auth: Auth, url: str, field: str
) -> None:
    response = client.get(url, headers=auth(users[Role.ADMIN]))
    assert response.status_code == 422, response.text
    assert any(e["field"].endswith(field) for e in response.json()["detail"]["errors"])


def test_an_overlong_sync_cursor_is_a_422(
    client: TestClient, users: dict[Role, User], auth: Auth
) -> None:
    import base64

    for raw in (f"c1:{'9' * 60}:1", f"c1:1:{'9' * 60}", "c1:1:99999999999999"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        reply = client.get("/api/v1/sync", params={"since": cursor},
                           headers=auth(users[Role.CAREGIVER]))  # fmt: skip
        assert reply.status_code == 422, (raw, reply.text)
        assert reply.json()["detail"]["field"] == "since"


def test_the_large_body_limit_is_only_for_the_upload_routes(
    client: TestClient, users: dict[Role, User], auth: Auth
) -> None:
    big = b"x" * (1_048_576 + 10)
    headers = {**auth(users[Role.CARE_MANAGER]), "content-type": "application/json"}
    for url in (f"/api/v1/visits/{uuid.uuid4()}", "/api/v1/consults", "/api/v1/visits"):
        reply = client.post(url, content=big, headers=headers)
        assert reply.status_code == 413, url
    # An upload route takes more than 1 MiB past the middleware (then 404: no such visit).
    voice = client.post(
        f"/api/v1/visits/{uuid.uuid4()}/voice-notes", content=big,
        headers={**auth(users[Role.CAREGIVER]), "content-type": "audio/webm"},
    )  # fmt: skip
    assert voice.status_code != 413


def test_uploads_are_checked_by_content_and_stored_with_a_safe_name() -> None:
    assert sniff_document(b"%PDF-1.7 ...") == "application/pdf"
    assert sniff_document(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_document(b"<html><script>") is None
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\แบบฟอร์ม.pdf") == "แบบฟอร์ม.pdf"
    assert safe_filename("..", default="evidence") == "evidence"
    assert safe_filename("a\x00b<c>.pdf") == "abc.pdf"


def test_an_attachment_that_only_claims_to_be_a_pdf_is_refused(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    from server.eligibility import rounds, rubrics
    from server.eligibility.models import Application

    rubric = rubrics.ensure_default_rubric(session)
    elder = make_elder(session)
    from datetime import timedelta

    from server.common.time import utcnow
    from server.eligibility.schemas import RoundCreate

    opens = utcnow() - timedelta(days=1)
    round_ = rounds.create_round(session, user=users[Role.ADMIN], data=RoundCreate(
        title="t", issuer="i", code="U1", rubric_id=rubric.id, devices=1, opens_at=opens,
        closes_at=opens + timedelta(days=30), chair_id=users[Role.COMMITTEE].id), request_id=None)  # fmt: skip
    rounds.open_round(session, user=users[Role.ADMIN], round_id=round_.id, request_id=None)
    session.commit()
    from tests.server.eligibility.conftest import answers

    made = client.post(f"/api/v1/eligibility/rounds/{round_.id}/applications",
                       headers=auth(users[Role.ADMIN]),
                       json={"elder_id": str(elder.id), "answers": answers()})  # fmt: skip
    assert made.status_code == 201, made.text
    url = f"/api/v1/eligibility/applications/{made.json()['id']}/attachments"
    html = b"<html><script>alert(1)</script></html>"
    fake = client.post(url, headers=auth(users[Role.ADMIN]),
                       files={"file": ("scan.pdf", html, "application/pdf")})  # fmt: skip
    assert fake.status_code == 415
    real = client.post(url, headers=auth(users[Role.ADMIN]),
                       files={"file": ("../../x/แบบ.pdf", b"%PDF-1.4 scan", "application/pdf")})  # fmt: skip
    assert real.status_code == 201 and real.json()["filename"] == "แบบ.pdf"
    assert session.get(Application, uuid.UUID(made.json()["id"])) is not None


@pytest.mark.parametrize("path", ["/api/v1/health", "/login", "/api/v1/auth/me", "/static/app.css"])
def test_security_headers_on_every_response(
    client: TestClient, users: dict[Role, User], auth: Auth, path: str
) -> None:
    reply = client.get(path, headers={**auth(users[Role.ADMIN]), "accept": "text/html"})
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert reply.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    # Scripts and styles only from our own files: nothing inline.
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    if not path.startswith("/static/"):
        assert reply.headers["cache-control"] == "no-store"


def test_health_data_answers_are_not_cached(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session)
    reply = client.get(f"/api/v1/elders/{elder.id}", headers=auth(users[Role.CARE_MANAGER]))
    assert reply.status_code == 200 and reply.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("q", "expected"), [("%", ["50%"]), ("_", []), ("a\x00b", []), ("0%", ["50%"])]
)
def test_elder_search_is_literal(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth,
    q: str, expected: list[str],
) -> None:  # fmt: skip
    make_elder(session, first_name="สมศรี")
    make_elder(session, first_name="50%")
    reply = client.get("/api/v1/elders", params={"q": q}, headers=auth(users[Role.CARE_MANAGER]))
    assert reply.status_code == 200, reply.text
    assert [i["first_name"] for i in reply.json()["items"]] == expected

"""Installation tasks are scoped like the registry: a caregiver lists and completes only the
tasks of elders assigned to them, and the list (which names people) is audited."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.elders.models import Elder
from server.eligibility.models import Application, InstallationTask, TaskKind
from tests.server.eligibility.conftest import MakeRound, answers
from tests.support.records import make_elder

Auth = Callable[[User], dict[str, str]]
P = "/api/v1/eligibility"


def _task_for(client: TestClient, auth: Auth, admin: User, session: Session, round_id: object,
              elder: Elder) -> InstallationTask:  # fmt: skip
    made = client.post(f"{P}/rounds/{round_id}/applications", headers=auth(admin),
                       json={"elder_id": str(elder.id), "answers": answers()})  # fmt: skip
    assert made.status_code == 201, made.text
    app = session.exec(select(Application).where(Application.elder_id == elder.id)).one()
    task = InstallationTask(elder_id=elder.id, round_id=app.round_id, application_id=app.id,
                            kind=TaskKind.INSTALL)  # fmt: skip
    session.add(task)
    session.commit()
    return task


def test_caregivers_see_and_complete_only_their_elders_tasks(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth,
    make_round: MakeRound, make_user: Callable[..., User],
) -> None:  # fmt: skip
    admin, cg = users[Role.ADMIN], users[Role.CAREGIVER]
    other_cg = make_user(Role.CAREGIVER, "caregiver-other")
    round_ = make_round(code="T1")
    mine = make_elder(session, first_name="ของฉัน", caregiver_id=cg.id)
    theirs = make_elder(session, first_name="ของคนอื่น", caregiver_id=other_cg.id)
    my_task = _task_for(client, auth, admin, session, round_.id, mine)
    their_task = _task_for(client, auth, admin, session, round_.id, theirs)

    listed = client.get(f"{P}/installation-tasks", headers=auth(cg))
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [str(my_task.id)]
    assert "ของคนอื่น" not in listed.text
    assert client.post(f"{P}/installation-tasks/{their_task.id}/complete",
                       headers=auth(cg)).status_code == 404  # fmt: skip
    assert client.post(f"{P}/installation-tasks/{my_task.id}/complete",
                       headers=auth(cg)).status_code == 200  # fmt: skip
    # A care manager still sees every task.
    everyone = client.get(f"{P}/installation-tasks", headers=auth(users[Role.CARE_MANAGER]))
    assert {t["id"] for t in everyone.json()} == {str(my_task.id), str(their_task.id)}

    reads = session.exec(
        select(AuditEntry).where(
            AuditEntry.entity == "installation_tasks", AuditEntry.actor_id == cg.id
        )
    ).all()
    assert [r.elder_id for r in reads] == [mine.id]

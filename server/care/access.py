"""Who may do what here. Scoping to assigned elders comes from the elders domain."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from server.auth.models import Role, User
from server.elders import service as elders
from server.elders.models import Elder

# Care plans, visits, readings and consultations are health data: never committee members;
# volunteers look after contact and living situation only.
PLAN_READERS = frozenset(
    {Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER, Role.CLINICIAN, Role.CAREGIVER}
)
PLAN_WRITERS = frozenset({Role.ADMIN, Role.CARE_MANAGER})
TARGET_WRITERS = frozenset({Role.ADMIN, Role.CARE_MANAGER, Role.CLINICIAN})
VISIT_READERS = PLAN_READERS
VISIT_WRITERS = frozenset({Role.ADMIN, Role.CARE_MANAGER, Role.CLINICIAN, Role.CAREGIVER})
OBSERVATION_READERS = PLAN_READERS | {Role.DISPATCHER}
REVIEWERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER})
REVIEW_RESOLVERS = frozenset({Role.ADMIN, Role.CARE_MANAGER})
OVERDUE_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER})
TODAY_READERS = frozenset({Role.CAREGIVER, Role.CARE_MANAGER, Role.CLINICIAN})
CHECKIN_WRITERS = frozenset({Role.VOLUNTEER, Role.CARE_MANAGER, Role.CAREGIVER})
CHECKIN_READERS = frozenset(
    {Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER, Role.CAREGIVER, Role.VOLUNTEER}
)
CONTACT_EDITORS = frozenset({Role.ADMIN, Role.CARE_MANAGER, Role.CAREGIVER, Role.VOLUNTEER})
CONSULT_READERS = frozenset(
    {Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER, Role.CLINICIAN, Role.CAREGIVER}
)
CONSULT_REQUESTERS = frozenset({Role.CARE_MANAGER, Role.CAREGIVER})
CONSULT_ANSWERERS = frozenset({Role.CLINICIAN})
CONSULT_CLOSERS = frozenset({Role.CARE_MANAGER, Role.CAREGIVER, Role.CLINICIAN})
SYNC_USERS = frozenset({Role.CAREGIVER, Role.VOLUNTEER, Role.CARE_MANAGER})
VOICE_WRITERS = frozenset({Role.CARE_MANAGER, Role.CAREGIVER, Role.CLINICIAN})
# Field workers whose changes to what matters are shown to the care manager.
FLAGGED_EDITORS = frozenset({Role.VOLUNTEER, Role.CAREGIVER})


def elder_for(session: Session, *, user: User, elder_id: uuid.UUID) -> Elder:
    """The elder if `user` may see them, else 404 (the same answer as "does not exist")."""
    return elders.get_visible(session, user=user, elder_id=elder_id)


def elder_name(elder: Elder) -> str:
    # A Thai title is written together with the name: "นางนงเยาว์", not "นาง นงเยาว์".
    return f"{elder.title or ''}{elder.first_name} {elder.last_name}"

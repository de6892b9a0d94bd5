"""FHIR R4 search endpoints: /fhir/Patient, /fhir/Observation, /fhir/Encounter, /fhir/Flag.

Each answers a `searchset` Bundle of the elders whose consent covers sharing, paged with
`_count` and `_offset` (a `next` link while more remain). Administrators only; every page
served is audited with the ids it carried.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from server.auth.models import Role, User
from server.common.time import as_utc, utcnow
from server.deps import RequestId, SessionDep, require_roles
from server.fhir import service

router = APIRouter(prefix="/fhir", tags=["fhir"])
Exporter = Annotated[User, Depends(require_roles(Role.ADMIN))]
FHIR_JSON = "application/fhir+json"


def _search(
    resource_type: service.ResourceType,
    request: Request,
    session: SessionDep,
    user: User,
    rid: str,
    patient: uuid.UUID | None,
    since: datetime | None,
    count: int,
    offset: int,
) -> JSONResponse:
    page = service.export_page(
        session, resource_type=resource_type, actor=user, request_id=rid, patient=patient,
        since=as_utc(since) if since else None, count=count, offset=offset,
    )  # fmt: skip
    base = str(request.base_url).rstrip("/")
    query: dict[str, Any] = {"_count": count}
    if patient:
        query["patient"] = str(patient)
    if since:
        query["_since"] = as_utc(since).isoformat()
    links = [
        {
            "relation": "self",
            "url": f"{base}/fhir/{resource_type}?{urlencode({**query, '_offset': offset})}",
        }
    ]
    if page.more:
        links.append({"relation": "next",
                      "url": f"{base}/fhir/{resource_type}?{urlencode({**query, '_offset': offset + count})}"})  # fmt: skip
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": utcnow().isoformat(),
        "link": links,
        "entry": [
            {"fullUrl": f"{base}/fhir/{r['resourceType']}/{r['id']}", "resource": r,
             "search": {"mode": "match"}}
            for r in page.resources
        ],
    }  # fmt: skip
    return JSONResponse(bundle, media_type=FHIR_JSON)


PatientParam = Annotated[uuid.UUID | None, Query()]
SinceParam = Annotated[datetime | None, Query(alias="_since")]
CountParam = Annotated[int, Query(alias="_count", ge=1, le=1000)]
OffsetParam = Annotated[int, Query(alias="_offset", ge=0)]


@router.get("/Patient")
def patients(
    request: Request, session: SessionDep, user: Exporter, rid: RequestId,
    count: CountParam = 100, offset: OffsetParam = 0, patient: PatientParam = None,
) -> JSONResponse:  # fmt: skip
    return _search("Patient", request, session, user, rid, patient, None, count, offset)


@router.get("/Observation")
def observations(
    request: Request, session: SessionDep, user: Exporter, rid: RequestId,
    count: CountParam = 100, offset: OffsetParam = 0, patient: PatientParam = None,
    since: SinceParam = None,
) -> JSONResponse:  # fmt: skip
    return _search("Observation", request, session, user, rid, patient, since, count, offset)


@router.get("/Encounter")
def encounters(
    request: Request, session: SessionDep, user: Exporter, rid: RequestId,
    count: CountParam = 100, offset: OffsetParam = 0, patient: PatientParam = None,
    since: SinceParam = None,
) -> JSONResponse:  # fmt: skip
    return _search("Encounter", request, session, user, rid, patient, since, count, offset)


@router.get("/Flag")
def flags(
    request: Request, session: SessionDep, user: Exporter, rid: RequestId,
    count: CountParam = 100, offset: OffsetParam = 0, patient: PatientParam = None,
    since: SinceParam = None,
) -> JSONResponse:  # fmt: skip
    return _search("Flag", request, session, user, rid, patient, since, count, offset)

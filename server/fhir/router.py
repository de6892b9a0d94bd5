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
from fastapi.responses import FileResponse, JSONResponse, Response

from server.auth.models import Role, User
from server.common.time import as_utc, utcnow
from server.deps import HandlerRoute, RequestId, SessionDep, require_roles
from server.errors import ApiError, ErrorOut
from server.fhir import bulk, service
from server.i18n import translate

router = APIRouter(route_class=HandlerRoute, prefix="/fhir", tags=["fhir"])
Exporter = Annotated[User, Depends(require_roles(Role.ADMIN))]
FHIR_JSON = "application/fhir+json"
# What the schema documents for a search: a Bundle as FHIR JSON (not FastAPI's JSON default).
BUNDLE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A searchset Bundle",
        "content": {FHIR_JSON: {"schema": {"type": "object"}}},
    }
}


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


@router.get("/Patient", response_class=Response, responses=BUNDLE)
def patients(
    request: Request, session: SessionDep, user: Exporter, rid: RequestId,
    count: CountParam = 100, offset: OffsetParam = 0, patient: PatientParam = None,
) -> JSONResponse:  # fmt: skip
    return _search("Patient", request, session, user, rid, patient, None, count, offset)


@router.get("/Observation", response_class=Response, responses=BUNDLE)
def observations(
    request: Request, session: SessionDep, user: Exporter, rid: RequestId,
    count: CountParam = 100, offset: OffsetParam = 0, patient: PatientParam = None,
    since: SinceParam = None,
) -> JSONResponse:  # fmt: skip
    return _search("Observation", request, session, user, rid, patient, since, count, offset)


@router.get("/Encounter", response_class=Response, responses=BUNDLE)
def encounters(
    request: Request, session: SessionDep, user: Exporter, rid: RequestId,
    count: CountParam = 100, offset: OffsetParam = 0, patient: PatientParam = None,
    since: SinceParam = None,
) -> JSONResponse:  # fmt: skip
    return _search("Encounter", request, session, user, rid, patient, since, count, offset)


@router.get("/Flag", response_class=Response, responses=BUNDLE)
def flags(
    request: Request, session: SessionDep, user: Exporter, rid: RequestId,
    count: CountParam = 100, offset: OffsetParam = 0, patient: PatientParam = None,
    since: SinceParam = None,
) -> JSONResponse:  # fmt: skip
    return _search("Flag", request, session, user, rid, patient, since, count, offset)


@router.get(
    "/$export",
    status_code=202,
    response_class=Response,
    responses={
        202: {"description": "Started; the status URL is in Content-Location"},
        400: {"model": ErrorOut, "description": "A resource type that is not exported"},
    },
)
def bulk_export(
    request: Request, user: Exporter, rid: RequestId,
    types: Annotated[str | None, Query(alias="_type", max_length=200)] = None,
    since: SinceParam = None,
) -> Response:  # fmt: skip
    """Bulk Data kick-off: 202 at once, the status URL in Content-Location; files follow."""
    chosen: list[service.ResourceType] = []
    for name in (types or ",".join(service.RESOURCE_TYPES)).split(","):
        match = next((t for t in service.RESOURCE_TYPES if t == name.strip()), None)
        if match is None:
            raise ApiError(400, "unsupported_type", "fhir.unsupported_type", type=name.strip())
        chosen.append(match)
    job = bulk.start_export(
        engine=request.app.state.engine, data_dir=request.app.state.settings.data_dir,
        actor=user, request_id=rid, request_url=str(request.url), types=chosen,
        since=as_utc(since) if since else None,
    )  # fmt: skip
    base = str(request.base_url).rstrip("/")
    return Response(status_code=202,
                    headers={"Content-Location": f"{base}/fhir/$export-status/{job.id}"})  # fmt: skip


def _job(request: Request, job_id: uuid.UUID, user: User) -> bulk.Job:
    job = bulk.load_job(request.app.state.settings.data_dir, job_id, actor=user)
    if job is None:
        raise ApiError(404, "export_not_found", "fhir.export_not_found")
    return job


@router.get(
    "/$export-status/{job_id}",
    responses={202: {"description": "Still running; X-Progress says how far"},
               500: {"description": "The export failed (an OperationOutcome)"}},
)  # fmt: skip
def bulk_status(job_id: uuid.UUID, request: Request, user: Exporter) -> Response:
    job = _job(request, job_id, user)
    if job.state == bulk.JobState.IN_PROGRESS:
        return Response(status_code=202,
                        headers={"X-Progress": job.progress or "started", "Retry-After": "2"})  # fmt: skip
    if job.state == bulk.JobState.FAILED:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "exception",
                       "diagnostics": translate("fhir.export_failed", "en")}],
        }  # fmt: skip
        return JSONResponse(outcome, status_code=500, media_type=FHIR_JSON)
    base = str(request.base_url).rstrip("/")
    return JSONResponse({
        "transactionTime": job.started_at.isoformat(),
        "request": job.request,
        "requiresAccessToken": True,
        "output": [
            {"type": t, "url": f"{base}/fhir/$export-file/{job.id}/{t}.ndjson", "count": n}
            for t, n in job.outputs.items()
        ],
        "error": [],
    })  # fmt: skip


@router.delete(
    "/$export-status/{job_id}",
    status_code=202,
    response_class=Response,
    responses={202: {"description": "Cancelled, or the finished export's files deleted"}},
)
def bulk_cancel(job_id: uuid.UUID, request: Request, user: Exporter) -> Response:
    """Cancels a running export or deletes a finished one's files."""
    bulk.cancel(request.app.state.settings.data_dir, _job(request, job_id, user))
    return Response(status_code=202)


@router.get(
    "/$export-file/{job_id}/{resource_type}.ndjson",
    response_class=FileResponse,
    responses={200: {"content": {"application/fhir+ndjson": {}}}},
)
def bulk_file(
    job_id: uuid.UUID, resource_type: str, request: Request, user: Exporter
) -> FileResponse:
    job = _job(request, job_id, user)
    path = bulk.output_file(request.app.state.settings.data_dir, job, resource_type)
    if path is None:
        raise ApiError(404, "export_not_found", "fhir.export_not_found")
    return FileResponse(path, media_type="application/fhir+ndjson")

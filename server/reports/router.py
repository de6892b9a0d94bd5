"""Reports API: the four reports as JSON, CSV/xlsx downloads, the monthly PDF, survey answers."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from server.audit import service as audit
from server.auth.models import Role, User
from server.common.time import BANGKOK, utcnow
from server.deps import HandlerRoute, LocaleDep, RequestId, SessionDep, require_roles
from server.errors import ApiError
from server.reports import export, service, surveys
from server.reports.schemas import SurveyIn, SurveyLinkIn, SurveyLinkOut, SurveyOut
from server.reports.tables import (
    Bundle,
    Table,
    all_tables,
    care_tables,
    programme_tables,
    response_tables,
    satisfaction_tables,
)

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1/reports", tags=["reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

REPORT_ROLES = (Role.ADMIN, Role.SUPERVISOR)
Reader = Annotated[User, Depends(require_roles(*REPORT_ROLES))]
SurveyTaker = Annotated[User, Depends(require_roles(*surveys.SURVEY_ROLES))]
MonthParam = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
CommunityParam = Annotated[str | None, Query(max_length=100)]
ReportName = Literal["all", "response", "care", "programme", "satisfaction"]


def scope_from(month: str | None, community: str | None, team: uuid.UUID | None) -> service.Scope:
    if month:
        first = date(int(month[:4]), int(month[5:7]), 1)
    else:
        today = utcnow().astimezone(BANGKOK).date()
        first = date(today.year, today.month, 1)
    return service.Scope(month=first, community=community or None, team=team)


def scope_dep(
    month: MonthParam = None, community: CommunityParam = None, team: uuid.UUID | None = None
) -> service.Scope:
    return scope_from(month, community, team)


ScopeDep = Annotated[service.Scope, Depends(scope_dep)]


def bundle_for(session: SessionDep, scope: service.Scope) -> Bundle:
    return Bundle(
        response=service.response_report(session, scope=scope),
        care=service.care_report(session, scope=scope),
        programme=service.programme_report(session, scope=scope),
        satisfaction=service.satisfaction_report(session, scope=scope),
    )


def _json(report: Any) -> dict[str, Any]:
    data: dict[str, Any] = dataclasses.asdict(report)
    return data


@router.get("/response")
def response_times(session: SessionDep, _user: Reader, scope: ScopeDep) -> dict[str, Any]:
    return _json(service.response_report(session, scope=scope))


@router.get("/care")
def care(session: SessionDep, _user: Reader, scope: ScopeDep) -> dict[str, Any]:
    return _json(service.care_report(session, scope=scope))


@router.get("/programme")
def programme(session: SessionDep, _user: Reader, scope: ScopeDep) -> dict[str, Any]:
    return _json(service.programme_report(session, scope=scope))


@router.get("/satisfaction")
def satisfaction(session: SessionDep, _user: Reader, scope: ScopeDep) -> dict[str, Any]:
    return _json(service.satisfaction_report(session, scope=scope))


def tables_for(
    session: SessionDep, scope: service.Scope, report: ReportName, locale: LocaleDep
) -> list[Table]:
    if report == "response":
        return response_tables(service.response_report(session, scope=scope), locale)
    if report == "care":
        return care_tables(service.care_report(session, scope=scope), locale)
    if report == "programme":
        return programme_tables(service.programme_report(session, scope=scope), locale)
    if report == "satisfaction":
        return satisfaction_tables(service.satisfaction_report(session, scope=scope), locale)
    return all_tables(bundle_for(session, scope), locale)


def _record_export(
    session: SessionDep, *, user: User, scope: service.Scope, report: str, fmt: str, rid: str
) -> None:
    audit.record(
        session, actor=user, action="export", entity="report", entity_id=report,
        request_id=rid,
        detail={"format": fmt, "month": scope.key, "community": scope.community,
                "team": str(scope.team) if scope.team else None},
    )  # fmt: skip


@router.get(
    "/export.{fmt}",
    response_class=Response,
    responses={
        200: {
            "description": "The report as CSV or xlsx",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def download(
    fmt: Literal["csv", "xlsx"],
    session: SessionDep,
    user: Reader,
    scope: ScopeDep,
    locale: LocaleDep,
    rid: RequestId,
    report: ReportName = "all",
) -> Response:
    tables = tables_for(session, scope, report, locale)
    _record_export(session, user=user, scope=scope, report=report, fmt=fmt, rid=rid)
    name = f"eldercare-{report}-{scope.key}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(
            export.to_csv(tables), media_type="text/csv; charset=utf-8", headers=headers
        )
    return Response(
        export.to_xlsx(tables),
        media_type=XLSX,
        headers=headers,
    )


@router.get(
    "/monthly.pdf",
    response_class=Response,
    responses={
        200: {
            "description": "The public monthly report",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def monthly_pdf(
    request: Request,
    session: SessionDep,
    user: Reader,
    scope: ScopeDep,
    locale: LocaleDep,
    rid: RequestId,
) -> Response:
    """The public report: aggregates only; counts under 5 are shown as "<5"."""
    from server.i18n import translate

    issuer = request.app.state.settings.municipality or translate("reports.pdf.issuer", locale)
    body = export.monthly_pdf(bundle_for(session, scope), month=scope.month, issuer=issuer,
                              locale=locale)  # fmt: skip
    _record_export(session, user=user, scope=scope, report="monthly", fmt="pdf", rid=rid)
    name = f"eldercare-monthly-{scope.key}.pdf"
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.post("/surveys", status_code=201)
def record_survey(
    body: SurveyIn, session: SessionDep, user: SurveyTaker, rid: RequestId
) -> SurveyOut:
    try:
        survey = surveys.record(session, data=body, actor=user, request_id=rid)
    except surveys.SurveyError as exc:
        raise ApiError(exc.status, exc.code, f"reports.survey.{exc.code}") from exc
    return SurveyOut.model_validate(survey.model_dump())


@router.post("/surveys/links", status_code=201)
def survey_link(
    body: SurveyLinkIn, request: Request, session: SessionDep, user: SurveyTaker
) -> SurveyLinkOut:
    """A link to send by SMS or LINE: the elder or family answers it themselves, once."""
    settings = request.app.state.settings
    try:
        url = surveys.make_link(
            session, context=body.context, subject_id=body.subject_id, actor=user,
            secret_key=settings.secret_key, base_url=settings.base_url,
        )  # fmt: skip
    except surveys.SurveyError as exc:
        raise ApiError(exc.status, exc.code, f"reports.survey.{exc.code}") from exc
    return SurveyLinkOut(url=url)

"""The supervisor's reports page: filters, plots (SVG drawn on the server), tables, downloads."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from server.auth.models import User
from server.deps import HandlerRoute, RequestId, SessionDep, require_roles
from server.i18n import translate
from server.reports import service, stats, surveys
from server.reports.models import SurveyChannel, SurveyContext
from server.reports.router import REPORT_ROLES, CommunityParam, MonthParam, bundle_for, scope_from
from server.reports.schemas import SurveyIn
from server.reports.tables import (
    care_tables,
    format_cell,
    programme_tables,
    response_tables,
    satisfaction_tables,
)
from server.web import register_nav, render

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
register_nav("/reports", "reports.nav", set(REPORT_ROLES))

ReaderPage = Annotated[User, Depends(require_roles(*REPORT_ROLES))]


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    _user: ReaderPage,
    month: MonthParam = None,
    community: CommunityParam = None,
    team: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    # matplotlib loads on the first report, not with the server: a restart stays quick.
    from server.reports import plots

    locale = request.state.locale
    team_id: uuid.UUID | None = None
    if team:
        try:
            team_id = uuid.UUID(team)
        except ValueError:
            team_id = None
    scope = scope_from(month, community, team_id)
    bundle = bundle_for(session, scope)
    response = bundle.response
    care = bundle.care

    def svg(data: bytes) -> Markup:
        # matplotlib's own SVG: text escaped by it, no script.
        text = data.decode("utf-8")
        return Markup(text[text.index("<svg") :])  # noqa: S704

    trend_months = [p.month for p in response.trend]
    figures = {
        "ack_distribution": svg(plots.distribution(
            response.ack_seconds, target_s=service.ACK_TARGET_S,
            title_key="reports.plot.distribution_ack", locale=locale)),
        "on_scene_distribution": svg(plots.distribution(
            response.on_scene_seconds, target_s=service.ON_SCENE_TARGET_S,
            title_key="reports.plot.distribution_on_scene", locale=locale)),
        "ack_trend": svg(plots.trend(
            trend_months, [p.ack_median_s for p in response.trend],
            [p.ack_within for p in response.trend], title_key="reports.plot.trend_ack",
            locale=locale)),
        "on_scene_trend": svg(plots.trend(
            trend_months, [p.on_scene_median_s for p in response.trend],
            [p.on_scene_within for p in response.trend],
            title_key="reports.plot.trend_on_scene", locale=locale)),
        "visits": svg(plots.bars(
            sorted({v.community for v in care.visits}),
            [(translate("reports.col.due", locale),
              [sum(v.due for v in care.visits if v.community == c)
               for c in sorted({v.community for v in care.visits})]),
             (translate("reports.col.done", locale),
              [sum(v.done for v in care.visits if v.community == c)
               for c in sorted({v.community for v in care.visits})])],
            title=translate("reports.plot.visits", locale),
            ylabel=translate("reports.col.visits", locale))),
        "satisfaction": svg(plots.trend(
            trend_months,
            [None] * len(trend_months),
            [_satisfied(bundle.satisfaction, m) for m in trend_months],
            title_key="reports.plot.satisfaction", locale=locale)),
    }  # fmt: skip
    query = {"month": scope.key}
    if scope.community:
        query["community"] = scope.community
    if scope.team:
        query["team"] = str(scope.team)
    sections = [
        ("response", response_tables(response, locale), ["ack_distribution",
         "on_scene_distribution", "ack_trend", "on_scene_trend"]),
        ("care", care_tables(care, locale), ["visits"]),
        ("programme", programme_tables(bundle.programme, locale), []),
        ("satisfaction", satisfaction_tables(bundle.satisfaction, locale), ["satisfaction"]),
    ]  # fmt: skip
    return render(
        request,
        "reports.html",
        scope=scope,
        sections=sections,
        figures=figures,
        cell=lambda c: format_cell(c, public=False, locale=locale),
        months=service.months_with_data(session),
        communities=service.communities(session),
        teams=service.teams(session),
        query=urlencode(query),
        month_label=lambda key: stats.month_label(key, locale),
    )


def _satisfied(report: service.SatisfactionReport, month: str) -> float | None:
    points = [p for p in report.for_month(month) if p.answers]
    answers = sum(p.answers for p in points)
    if not answers:
        return None
    return sum((p.satisfied or 0) * p.answers for p in points) / answers


# ---------------------------------------------------------------- the survey link (public)


def _survey_page(request: Request, *, status_code: int = 200, **context: object) -> Response:
    return render(request, "survey.html", status_code=status_code, **context)


def _link_subject(request: Request, token: str) -> tuple[SurveyContext, uuid.UUID]:
    return surveys.read_link(token, secret_key=request.app.state.settings.secret_key)


@router.get("/survey/{token}", response_class=HTMLResponse)
def survey_form(token: str, request: Request) -> Response:
    try:
        context, _subject = _link_subject(request, token)
    except surveys.SurveyError as exc:
        return _survey_page(request, status_code=exc.status, problem=exc.code)
    return _survey_page(request, context=context.value, token=token)


@router.post("/survey/{token}", response_class=HTMLResponse)
def survey_answer(
    token: str,
    request: Request,
    session: SessionDep,
    rid: RequestId,
    overall: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        context, subject = _link_subject(request, token)
        surveys.record(
            session,
            data=SurveyIn(context=context, subject_id=subject, channel=SurveyChannel.LINK,
                          overall=overall, comment=comment.strip() or None),
            actor=None, request_id=rid,
        )  # fmt: skip
    except surveys.SurveyError as exc:
        return _survey_page(request, status_code=exc.status, problem=exc.code)
    return _survey_page(request, thanks=True)


# ---------------------------------------------------------------- staff asking by phone

register_nav("/surveys", "reports.surveys.nav", set(surveys.SURVEY_ROLES))
SurveyPage = Annotated[User, Depends(require_roles(*surveys.SURVEY_ROLES))]


@router.get("/surveys", response_class=HTMLResponse)
def surveys_page(
    request: Request, session: SessionDep, user: SurveyPage, done: bool = False
) -> Response:
    """Who to call back: each resolved alert or visit not yet asked about, with a form."""
    return render(request, "surveys.html", items=surveys.to_ask(session, actor=user),
                  done=done)  # fmt: skip


@router.post("/surveys", response_class=HTMLResponse)
def surveys_answer(
    request: Request,
    session: SessionDep,
    user: SurveyPage,
    rid: RequestId,
    context: Annotated[SurveyContext, Form()],
    subject_id: Annotated[uuid.UUID, Form()],
    overall: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        surveys.record(
            session,
            data=SurveyIn(context=context, subject_id=subject_id, channel=SurveyChannel.STAFF,
                          overall=overall, comment=comment.strip() or None),
            actor=user, request_id=rid,
        )  # fmt: skip
    except surveys.SurveyError as exc:
        return render(request, "surveys.html", status_code=exc.status,
                      items=surveys.to_ask(session, actor=user), problem=exc.code)  # fmt: skip
    return RedirectResponse("/surveys?done=1", status_code=303)

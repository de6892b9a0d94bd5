"""Committee pages: rounds, and a round's ranking with breakdowns, filters, votes and notes."""

from __future__ import annotations

import math
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from server.common.paging import MAX_PAGE
from server.deps import HandlerRoute, LocaleDep, RequestId, SessionDep
from server.eligibility import committee, ranking_view, rounds, rubrics, service
from server.eligibility.models import RoundStatus
from server.eligibility.router import Manager
from server.eligibility.schemas import MANAGERS
from server.web import register_nav, render

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
register_nav("/committee", "eligibility.nav", set(MANAGERS))

PAGE_SIZE = 50


def _tri(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


@router.get("/committee", response_class=HTMLResponse)
def rounds_page(request: Request, session: SessionDep, _user: Manager) -> Response:
    shown = [rounds.round_out(session, r) for r in rounds.list_rounds(session)]
    return render(request, "committee_rounds.html", rounds=shown)


@router.get("/committee/rounds/{round_id}", response_class=HTMLResponse)
def round_page(
    round_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: Manager,
    rid: RequestId,
    locale: LocaleDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    community: Annotated[str | None, Query(max_length=100)] = None,
    target: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_]*$")] = None,
    quota: Annotated[str | None, Query(pattern=r"^(yes|no|)$")] = None,
    eligible: Annotated[str | None, Query(pattern=r"^(yes|no|)$")] = None,
    vote: Annotated[str | None, Query(pattern=r"^(undecided|approve|reject|defer|)$")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    round_ = rounds.get_round(session, round_id)
    rubric_row = rubrics.get_rubric(session, round_.rubric_id)
    rubric = rubrics.parsed(rubric_row)
    chosen = ranking_view.RankingFilter(
        q=q, community=community or None, target=target or None, quota=_tri(quota),
        eligible=_tri(eligible), vote=vote or None,
    )  # fmt: skip
    result = ranking_view.ranking_page(
        session, user=user, round_id=round_id, filters=chosen, page=page, page_size=PAGE_SIZE,
        request_id=rid,
    )  # fmt: skip
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    filters = {
        "q": q or "", "community": community or "", "target": target or "",
        "quota": quota or "", "eligible": eligible or "", "vote": vote or "",
    }  # fmt: skip
    targets = {t.key: service._text(t.label, locale) for t in rubric.targets}
    not_voted, members = committee.members_not_voted(session, round_id)
    return render(
        request,
        "committee_round.html",
        round=rounds.round_out(session, round_),
        rubric=rubric_row,
        result=result,
        pages=pages,
        filters=filters,
        targets=targets,
        communities=ranking_view.communities(session, round_id),
        is_chair=round_.chair_id == user.id,
        not_voted=not_voted,
        members=members,
        statuses=RoundStatus,
    )

"""The application factory. Each domain contributes a router; pages sit beside their API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlmodel import Session

from server import web
from server.alerts.router import router as alerts_router
from server.alerts.ui import router as alerts_pages
from server.audit.router import router as audit_router
from server.auth.router import router as auth_router
from server.auth.ui import router as auth_pages
from server.config import Settings, get_settings
from server.db import make_engine
from server.devices import router as devices
from server.devices import ui as devices_ui
from server.elders.router import router as elders_router
from server.elders.ui import router as elders_pages
from server.eligibility.router import router as eligibility_router
from server.eligibility.ui import router as eligibility_pages
from server.fhir.router import router as fhir_router
from server.metrics.logs import RequestIdMiddleware
from server.metrics.router import router as metrics_router
from server.reports.router import router as reports_router
from server.reports.ui import router as reports_pages
from server.visits.router import router as visits_router
from server.visits.voice import body_limit_overrides

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="eldercare", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    web.install(app)
    app.add_middleware(
        web.BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        overrides=body_limit_overrides(settings),
    )
    # Outermost: the request id exists before anything else runs or logs.
    app.add_middleware(RequestIdMiddleware)
    app.mount("/static/alerts", StaticFiles(directory=web.SERVER_ROOT / "alerts" / "ui" / "static"))
    app.mount("/static", StaticFiles(directory=web.SERVER_ROOT / "ui" / "static"), name="static")

    # Browsers ask for /favicon.ico whatever a page links (and for JSON or error pages);
    # one icon, served from static/, answers both.
    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/api/v1/health", tags=["health"])
    def health() -> JSONResponse:
        try:
            with Session(engine) as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure is the answer, not a crash
            log.error("health check: database unreachable: %s", type(exc).__name__)
            return JSONResponse(
                {"status": "error", "database": f"unreachable ({type(exc).__name__})"},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    for router in (
        auth_router,
        elders_router,
        audit_router,
        auth_pages,
        elders_pages,
        alerts_router,
        alerts_pages,
        visits_router,
        eligibility_router,
        eligibility_pages,
        devices.router,
        devices_ui.router,
        reports_router,
        reports_pages,
        fhir_router,
        metrics_router,
    ):
        app.include_router(router)
    return app

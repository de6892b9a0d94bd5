"""The application factory. Each domain contributes a router; pages sit beside their API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlmodel import Session

from server import web
from server.accounts.router import router as auth_router
from server.accounts.ui import router as auth_pages
from server.alerts.config import alert_settings
from server.alerts.router import router as alerts_router
from server.alerts.timers import scheduler
from server.alerts.ui import router as alerts_pages
from server.alerts.ui.phone import router as phone_pages
from server.audit.router import router as audit_router
from server.care.router import router as care_router
from server.careapp import router as careapp
from server.common.collector import collector_for_a_long_run
from server.config import Settings, get_settings
from server.db import make_engine
from server.devices import router as devices
from server.devices import ui as devices_ui
from server.devices.config import DevicesSettings
from server.devices.downlink import DownlinkRelay
from server.devices.ingest import Ingestor
from server.devices.supervision import supervision_loop
from server.elders.router import router as elders_router
from server.elders.ui import router as elders_pages
from server.eligibility.router import router as eligibility_router
from server.eligibility.ui import router as eligibility_pages
from server.errors import API_RESPONSES
from server.fhir.router import router as fhir_router
from server.inbound_sms.router import router as inbound_sms_router
from server.manager.router import router as manager_router
from server.metrics.router import router as metrics_router
from server.notify.line import router as line_router
from server.oncall.phone import router as twilio_router
from server.oncall.router import router as oncall_router
from server.oncall.ui import router as oncall_pages
from server.oncall.worker import oncall_worker
from server.realtime import start_listener, stop_listener
from server.reports.config import survey_settings
from server.reports.invitations import invitation_loop
from server.reports.router import router as reports_router
from server.reports.ui import router as reports_pages
from server.responders.ui import router as responder_pages
from server.sync.router import router as sync_router
from server.telehealth.router import router as telehealth_router
from server.telehealth.voice import body_limit_overrides
from server.telemetry.logs import RequestIdMiddleware
from server.telemetry.responses import ResponseCountMiddleware
from server.volunteers.router import router as volunteers_router
from server.wiring import install_domain_hooks

log = logging.getLogger(__name__)


@asynccontextmanager
async def background_work(app: FastAPI) -> AsyncIterator[None]:
    """Everything a server process runs besides answering requests, started and stopped here
    and nowhere else:

    - the PostgreSQL LISTEN/NOTIFY listener: alert changes made by other processes reach
      this process's consoles (nothing on SQLite, which is for one process);
    - the timer tick: escalation steps and SLA milestones, claimed row by row;
    - the hub ingestor: the writer that stores hub events, and the readings projector that
      triages them into observations (unless `eldercare worker` processes do that);
    - hub supervision: a hub silent past its check-in deadline raises hub_offline;
    - the downlink relay: spoken prompts ("help is coming") down connected hubs' sockets;
    - the on-call worker: due escalation steps, then the outbox of SMS, calls and LINE
      messages (through Twilio and LINE when configured; recorded otherwise);
    - survey invitations: a satisfaction-survey link to families after resolved alerts and
      visits.
    """
    engine = app.state.engine
    devices_settings: DevicesSettings = (
        getattr(app.state, "devices_settings", None) or DevicesSettings()
    )
    app.state.devices_settings = devices_settings
    start_listener(engine)
    try:
        with scheduler(engine, alert_settings()):
            ingestor = Ingestor(engine, devices_settings)
            ingestor.start()
            app.state.ingestor = ingestor
            downlinks = DownlinkRelay(engine)
            downlinks.start()
            app.state.downlinks = downlinks
            loops = [
                asyncio.create_task(
                    supervision_loop(engine, devices_settings), name="hub-supervision"
                ),
                asyncio.create_task(
                    invitation_loop(
                        engine,
                        app.state.settings,
                        getattr(app.state, "survey_settings", None) or survey_settings(),
                    ),
                    name="survey-invitations",
                ),
            ]
            try:
                with oncall_worker(app):
                    yield
            finally:
                for loop in loops:
                    loop.cancel()
                for loop in loops:
                    with suppress(asyncio.CancelledError):
                        await loop
                await downlinks.stop()
                await ingestor.stop()
    finally:
        stop_listener(engine)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with background_work(app):
            with collector_for_a_long_run():
                yield
        engine.dispose()

    app = FastAPI(title="eldercare", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    install_domain_hooks()
    web.install(app)
    app.add_middleware(
        web.BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        overrides=body_limit_overrides(settings),
    )
    # Outermost: the request id exists before anything else runs or logs.
    app.add_middleware(ResponseCountMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.mount("/static/alerts", StaticFiles(directory=web.SERVER_ROOT / "alerts" / "ui" / "static"))
    app.mount(
        "/static/eligibility",
        StaticFiles(directory=web.SERVER_ROOT / "eligibility" / "ui" / "static"),
    )
    app.mount("/static", StaticFiles(directory=web.SERVER_ROOT / "ui" / "static"), name="static")

    # Browsers ask for /favicon.ico whatever a page links (and for JSON or error pages);
    # one icon, served from static/, answers both.
    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get(
        "/api/v1/health",
        tags=["health"],
        responses={503: {"description": "The database is unreachable"}},
    )
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
        phone_pages,
        care_router,
        telehealth_router,
        volunteers_router,
        manager_router,
        sync_router,
        eligibility_router,
        eligibility_pages,
        devices.router,
        devices.api,
        devices_ui.router,
        reports_router,
        reports_pages,
        fhir_router,
        metrics_router,
        oncall_router,
        oncall_pages,
        twilio_router,
        line_router,
        responder_pages,
        inbound_sms_router,
        careapp.api,
        careapp.router,
    ):
        app.include_router(router, responses=API_RESPONSES)
    return app

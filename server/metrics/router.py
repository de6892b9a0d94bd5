"""`/metrics` (Prometheus text format) and `/api/v1/health/detail` (which part is degraded).

Both tell an outsider how the system is doing, so both need the metrics token or a caller on
this machine. The short `/api/v1/health` stays public for load balancers.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from server.alerts.ui.feed import console_counts
from server.deps import HandlerRoute
from server.devices.downlink import connected_hubs
from server.errors import ApiError
from server.metrics.config import MetricsSettings
from server.metrics.state import SystemState, failed_notifications, read_state
from server.realtime import hub_for, hub_key
from server.telemetry import instruments

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _settings(request: Request) -> MetricsSettings:
    found: MetricsSettings | None = getattr(request.app.state, "metrics_settings", None)
    return found or MetricsSettings()


def _guard(request: Request) -> MetricsSettings:
    settings = _settings(request)
    if settings.token:
        header = request.headers.get("authorization", "")
        given = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), settings.token.encode()):
            raise ApiError(401, "unauthorized", "common.unauthorized")
        return settings
    host = request.client.host if request.client else ""
    if host not in LOOPBACK:
        raise ApiError(403, "forbidden", "common.forbidden")
    return settings


class _StateCollector(Collector):
    def __init__(self, state: SystemState, engine: Engine) -> None:
        self.state = state
        self.engine = engine

    def collect(self) -> Any:
        s = self.state
        up = GaugeMetricFamily("eldercare_database_up", "1 when the database answers")
        up.add_metric([], 1 if s.database_ok else 0)
        yield up
        if s.database_seconds is not None:
            yield GaugeMetricFamily("eldercare_database_ping_seconds", "SELECT 1 round trip",
                                    value=s.database_seconds)  # fmt: skip
        alerts = GaugeMetricFamily("eldercare_open_alerts", "Open alerts by priority and state",
                                   labels=["priority", "state"])  # fmt: skip
        for (priority, status), n in sorted(s.open_alerts.items()):
            alerts.add_metric([priority, status], n)
        yield alerts
        hubs = GaugeMetricFamily("eldercare_hubs", "Home hubs by connection state",
                                 labels=["state"])  # fmt: skip
        hubs.add_metric(["online"], s.hubs_online)
        hubs.add_metric(["offline"], s.hubs_offline)
        yield hubs
        yield GaugeMetricFamily(
            "eldercare_readings_queue_depth",
            "Hub readings stored but not yet triaged",
            value=s.readings_queue,
        )
        yield GaugeMetricFamily(
            "eldercare_readings_queue_oldest_seconds",
            "Age of the oldest untriaged reading",
            value=s.readings_oldest_seconds,
        )
        yield GaugeMetricFamily(
            "eldercare_timers_overdue", "Pending timers past their due time", value=s.timers_overdue
        )
        yield GaugeMetricFamily("eldercare_timers_oldest_overdue_seconds",
                                "How late the latest-running pending timer is",
                                value=s.timers_oldest_overdue_seconds)  # fmt: skip
        sent = GaugeMetricFamily(
            "eldercare_notifications_recent",
            "Notifications in the health window, by channel and status (failed = a failure)",
            labels=["channel", "status"],
        )
        for (channel, status), n in sorted(s.notifications.items()):
            sent.add_metric([channel, status], n)
        yield sent
        sync = GaugeMetricFamily("eldercare_sync_records_24h",
                                 "Tablet sync records in the last 24 h, by kind and result "
                                 "(result=conflict: a sync conflict)",
                                 labels=["kind", "result"])  # fmt: skip
        for (kind, result), n in sorted(s.sync.items()):
            sync.add_metric([kind, result], n)
        yield sync
        pool = self.engine.pool
        stats = GaugeMetricFamily("eldercare_db_pool_connections", "Database connection pool",
                                  labels=["state"])  # fmt: skip
        for name in ("size", "checkedout", "overflow", "checkedin"):
            getter = getattr(pool, name, None)
            if callable(getter):
                stats.add_metric([name], float(getter()))
        yield stats
        # This process's sockets and the in-memory queue in front of its consoles: a soak
        # watches these for a leak (a socket never let go, a console that never drains).
        sockets, frames = console_counts(self.engine)
        hub = hub_for(hub_key(self.engine))
        yield GaugeMetricFamily("eldercare_console_sockets",
                                "Console WebSockets open in this process",
                                value=sockets)  # fmt: skip
        yield GaugeMetricFamily("eldercare_console_queue_depth",
                                "Alert-change notices not yet read and frames not yet sent "
                                "for this process's consoles",
                                value=hub.queued + frames)  # fmt: skip
        yield GaugeMetricFamily("eldercare_hub_sockets", "Hub WebSockets open in this process",
                                value=connected_hubs())  # fmt: skip


@router.get("/metrics")
def metrics(request: Request) -> Response:
    settings = _guard(request)
    engine: Engine = request.app.state.engine
    state = read_state(engine, window=timedelta(minutes=settings.notifier_window_minutes))
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_StateCollector(state, engine))
    body = generate_latest(instruments.scrape_registry()) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def health_report(state: SystemState, settings: MetricsSettings) -> dict[str, Any]:
    parts: dict[str, dict[str, Any]] = {}
    if not state.database_ok:
        parts["database"] = {"status": "error", "detail": f"unreachable ({state.database_error})"}
        return {"status": "error", "degraded": ["database"], "parts": parts}
    parts["database"] = {"status": "ok", "ping_seconds": round(state.database_seconds or 0, 4)}
    late = state.timers_oldest_overdue_seconds
    parts["timers"] = {
        "status": "degraded" if late > settings.timers_late_seconds else "ok",
        "overdue": state.timers_overdue, "oldest_overdue_seconds": round(late, 1),
    }  # fmt: skip
    backlog_old = state.readings_oldest_seconds > settings.readings_backlog_seconds
    backlog_big = state.readings_queue > settings.readings_backlog_rows
    parts["readings"] = {
        "status": "degraded" if backlog_old or backlog_big else "ok",
        "queue": state.readings_queue, "oldest_seconds": round(state.readings_oldest_seconds, 1),
    }  # fmt: skip
    failed, total = failed_notifications(state)
    failing = failed >= settings.notifier_min_failures and failed * 2 > total
    parts["notifier"] = {
        "status": "degraded" if failing else "ok", "failed": failed, "total": total,
        "window_minutes": settings.notifier_window_minutes,
    }  # fmt: skip
    parts["hubs"] = {"status": "ok", "online": state.hubs_online, "offline": state.hubs_offline}
    degraded = sorted(name for name, part in parts.items() if part["status"] != "ok")
    return {"status": "degraded" if degraded else "ok", "degraded": degraded, "parts": parts}


@router.get("/api/v1/health/detail")
def health_detail(request: Request) -> JSONResponse:
    settings = _guard(request)
    state = read_state(request.app.state.engine,
                       window=timedelta(minutes=settings.notifier_window_minutes))  # fmt: skip
    report = health_report(state, settings)
    return JSONResponse(report, status_code=503 if report["status"] == "error" else 200)

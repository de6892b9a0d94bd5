"""The process's own counters and histograms. Domains call the small `observe_*` functions.

They live on a registry of their own (not the library's global one) so tests and several apps
in one process do not collide. With `eldercare serve --workers N` every worker writes its
values to files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode, chosen by
that variable when the library is first imported), and a scrape of any worker adds them up;
the database-derived gauges are the same in every process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "eldercare_events_ingested", "Hub events received and stored, by kind", ["kind"],
    registry=REGISTRY,
)  # fmt: skip
INGEST_SECONDS = Histogram(
    "eldercare_ingest_seconds",
    "From a hub message's arrival to its events being committed",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "eldercare_alert_acknowledge_seconds",
    "From an alert being raised to a dispatcher acknowledging it",
    ["priority"],
    buckets=(5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600),
    registry=REGISTRY,
)
TIMER_LATENESS = Histogram(
    "eldercare_timer_lateness_seconds",
    "How long after its due time an escalation or SLA timer fired",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)


HTTP_RESPONSES = Counter(
    "eldercare_http_responses",
    "Responses by status class (5xx: the server failed a request)",
    ["status"],
    registry=REGISTRY,
)


def observe_response(status: int) -> None:
    HTTP_RESPONSES.labels(status=f"{status // 100}xx").inc()


def scrape_registry() -> CollectorRegistry:
    """This process's registry, or every worker's values added up in multiprocess mode."""
    folder = os.environ.get(MULTIPROCESS_DIR)
    if not folder:
        return REGISTRY
    combined = CollectorRegistry(auto_describe=True)
    multiprocess.MultiProcessCollector(combined, path=folder)  # type: ignore[no-untyped-call]
    return combined


def observe_ingest(kinds: Iterable[str], received_at: datetime, committed_at: datetime) -> None:
    for kind in kinds:
        EVENTS.labels(kind=kind).inc()
    INGEST_SECONDS.observe(max(0.0, (committed_at - received_at).total_seconds()))


def observe_acknowledge(priority: str, seconds: float) -> None:
    ACK_SECONDS.labels(priority=priority).observe(max(0.0, seconds))


def observe_timer(due_at: datetime, fired_at: datetime) -> None:
    TIMER_LATENESS.observe(max(0.0, (fired_at - due_at).total_seconds()))

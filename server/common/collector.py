"""The cyclic garbage collector as a long-running process (server or worker) sets it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GC_YOUNG_THRESHOLD = 10_000


@contextmanager
def collector_for_a_long_run() -> Iterator[None]:
    """The cyclic garbage collector set for a server or reading-worker process, while it runs.

    What is alive once the process has started (modules, routes, schemas, table metadata)
    lives as long as the process, so the collector need not walk it again (`gc.freeze`): its
    full passes had grown to 160-270 ms, and a press arriving during one waited for it.
    Collecting the young generation every 10,000 allocations instead of 700 makes the passes
    over what the process gathers later rarer. Press to console under readings load
    (PostgreSQL, bench/console_latency.py): p99 327 ms before, 111-128 ms frozen, 58-64 ms
    with both. The readings projector alone (bench/readings.py): about a tenth faster.
    Undone at the end: a process that starts many apps (the tests) frees each.
    """
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()

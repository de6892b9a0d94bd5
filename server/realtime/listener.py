"""PostgreSQL LISTEN in a background thread, feeding the in-process hub."""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from sqlalchemy.engine import Engine

from server.realtime.hub import CHANNEL, RESYNC, hub_for, hub_key

log = logging.getLogger(__name__)


class PgListener:
    def __init__(self, engine: Engine) -> None:
        self.key = hub_key(engine)
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._stop = threading.Event()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        hub = hub_for(self.key)
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    if not first:
                        # Changes made while we were away were not heard: re-read all.
                        hub.publish([RESYNC])
                    first = False
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            hub.publish([note.payload])
            except psycopg.Error as exc:
                log.warning("realtime: LISTEN connection lost (%s); retrying", type(exc).__name__)
                self.ready.clear()
                time.sleep(1.0)


_listeners: dict[str, tuple[PgListener, int]] = {}
_lock = threading.Lock()


def start_listener(engine: Engine) -> PgListener | None:
    """One listener per database per process, however many apps share it."""
    if engine.dialect.name != "postgresql":
        return None
    key = hub_key(engine)
    with _lock:
        if key in _listeners:
            listener, count = _listeners[key]
            _listeners[key] = (listener, count + 1)
            return listener
        listener = PgListener(engine)
        listener.start()
        _listeners[key] = (listener, 1)
    listener.ready.wait(timeout=10)
    return listener


def stop_listener(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    key = hub_key(engine)
    with _lock:
        if key not in _listeners:
            return
        listener, count = _listeners[key]
        if count > 1:
            _listeners[key] = (listener, count - 1)
            return
        del _listeners[key]
    listener.stop()

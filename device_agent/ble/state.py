"""The little the BLE side must remember across restarts: the last glucose record sequence
number forwarded per meter, so a reading is fetched once and never forwarded twice."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path


class BleState:
    """A small SQLite file owned by the BLE drivers. ``":memory:"`` for tests and demos."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS glucose_last_sequence ("
            " device TEXT PRIMARY KEY, sequence INTEGER NOT NULL, updated_at TEXT NOT NULL)"
        )

    def last_glucose_sequence(self, device: str) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT sequence FROM glucose_last_sequence WHERE device = ?", (device,)
            ).fetchone()
        return int(row[0]) if row else None

    def set_last_glucose_sequence(self, device: str, sequence: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO glucose_last_sequence (device, sequence, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE SET"
                " sequence = excluded.sequence, updated_at = excluded.updated_at",
                (device, sequence, datetime.now(UTC).isoformat()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

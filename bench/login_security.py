"""Login timing and session-check cost, on SQLite and PostgreSQL.

    python bench/login_security.py

1. `POST /api/v1/auth/token` with a wrong password for an existing username and for a missing
   one: median and p99 of 15 each. Before the dummy-hash fix a missing user answered in about a
   fifth of the time (32 ms against 160 ms), which told usernames apart.
2. The cost of the server-side session check on every request: `GET /api/v1/auth/me` with a
   bearer token, median of 200 (the check is two primary-key reads).

Requests go through the real app in-process (FastAPI TestClient); addresses vary so the
throttle does not step in.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient
from sqlmodel import Session

from bench._common import database, machine_line, pct, summary
from server.auth.models import Role
from server.auth.service import create_user
from server.config import Settings
from server.main import create_app

SECRET = "bench-secret-" + "x" * 40


def run(kind: str, tmp: str) -> None:
    with database(kind, tmp) as url:
        settings = Settings(env="test", database_url=url, secret_key=SECRET)
        app = create_app(settings)
        with Session(app.state.engine) as session:
            create_user(session, username="dispatcher", password="river-lamp-4821",
                        full_name="Bench", role=Role.DISPATCHER)  # fmt: skip
        times: dict[str, list[float]] = {"existing": [], "missing": []}
        for i in range(15):
            for label, username in (("existing", "dispatcher"), ("missing", f"ghost{i}")):
                client = TestClient(app, client=(f"10.0.{i}.{len(label)}", 40000))
                started = time.perf_counter()
                reply = client.post("/api/v1/auth/token",
                                    data={"username": username, "password": "wrong-guess"})  # fmt: skip
                times[label].append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 401, reply.text
        for label, values in times.items():
            print(f"{kind}: wrong password, {label} username: {summary(values)}")
        ratio = pct(times["missing"], 50) / pct(times["existing"], 50)
        print(f"{kind}: missing/existing median ratio {ratio:.2f} (1.0 = indistinguishable)")
        with TestClient(app, client=("10.9.9.9", 40000)) as client:
            token = client.post("/api/v1/auth/token",
                                data={"username": "dispatcher", "password": "river-lamp-4821"}
                                ).json()["access_token"]  # fmt: skip
            headers = {"Authorization": f"Bearer {token}"}
            checks = []
            for _ in range(200):
                started = time.perf_counter()
                assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
                checks.append((time.perf_counter() - started) * 1000)
            print(f"{kind}: GET /auth/me with the session check: {summary(checks)}")
        app.state.engine.dispose()


def main() -> None:
    logging.getLogger("server.auth.service").setLevel(logging.ERROR)  # one line per failure
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("sqlite", "postgresql"):
            try:
                run(kind, tmp)
            except Exception as exc:  # PostgreSQL may not be running here
                print(f"{kind}: skipped ({type(exc).__name__}: {exc})")


if __name__ == "__main__":
    main()

"""Eligibility figures: scoring and ranking 100,000 applications (the pure core), and the
committee page and ranking API with 5,000 applicants (SQLite file, or --database-url).

    python bench/eligibility.py [--applications 100000] [--page-applicants 5000]
                                [--database-url postgresql+psycopg://...]

Prints numbers and the machine; it is not a pass/fail test. Traffic stays in-process.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from bench._server import machine_line
from server.auth.models import Role, User
from server.auth.service import issue_token
from server.config import Settings
from server.elders.models import Elder, ElderStatus, Sex
from server.eligibility import ranking, rounds, rubrics, scoring
from server.eligibility.models import Application, RoundStatus
from server.eligibility.models import Round as RoundRow
from server.main import create_app
from server.migrate import upgrade

COMMUNITIES = ["ชุมชนบ้านเหมือง", "ชุมชนหาดวอนนภา", "ชุมชนมาบมะยม", "ชุมชนแหลมแท่น", "ชุมชนดอนบน"]


def random_answers(rng: random.Random) -> dict[str, scoring.Answer]:
    return {
        "living": rng.choice(["alone_no_carer", "alone_occasional_help", "with_dependent_elder",
                              "alone_daytime", "with_carer"]),
        "adl": rng.randint(0, 20),
        "falls": rng.choice([0, 0, 1, 2, 3]),
        "chronic": rng.choice(["none", "one_controlled", "multiple", "uncontrolled"]),
        "access": rng.choice(["easy", "difficult", "very_difficult"]),
        "age": rng.randint(60, 99),
        "income": rng.choice(["welfare_card", "low_income", "sufficient"]),
        "distance_km": round(rng.uniform(0, 20), 1),
        "emergencies": rng.choice([0, 0, 1, 2]),
    }  # fmt: skip


LAST_CPU = [0.0]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time; the CPU time of this process is kept in LAST_CPU (other work shares the box)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    LAST_CPU[0] = time.process_time() - cpu
    return time.perf_counter() - start, result


def bench_pure(count: int) -> None:
    name, content = rubrics.default_rubric_data()
    rubric = scoring.parse_rubric(content)
    rng = random.Random(2569)
    answers = [random_answers(rng) for _ in range(count)]
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    elapsed, scores = timed(lambda: [scoring.score(rubric, a) for a in answers])
    print(
        f"score {count:,} applications: {elapsed:.2f} s wall, {LAST_CPU[0]:.2f} s CPU "
        f"({LAST_CPU[0] / count * 1e6:.1f} µs CPU each)"
    )
    inputs = [
        ranking.RankInput(
            application_id=str(i),
            number=f"R-{i:06d}",
            total_centi=s.total_centi,
            targets_met=len(s.targets_met),
            eligible=s.eligible,
            adl=s.adl,
            submitted_at=t0 + timedelta(seconds=rng.randrange(30 * 86400)),
        )
        for i, s in enumerate(scores)
    ]
    elapsed, ranked = timed(lambda: ranking.rank(inputs, devices=300, seed="bench"))
    print(
        f"rank {count:,} applications (300 devices): {elapsed:.2f} s wall, {LAST_CPU[0]:.2f} s CPU"
    )
    shuffled = inputs[:]
    random.Random(1).shuffle(shuffled)
    again = ranking.rank(shuffled, devices=300, seed="bench")
    same = [r.entry.number for r in ranked] == [r.entry.number for r in again]
    draws = sum(r.decided_by == "draw" for r in ranked)
    print(
        f"  same order from shuffled input: {same}; neighbours separated only by the draw: {draws:,}"
    )
    votes = {r.entry.application_id: [ranking.Vote.REJECT] for r in ranked[:50:7]}
    elapsed, _ = timed(lambda: ranking.screen(ranked, votes=votes, devices=300))
    print(f"screen {count:,} applications: {elapsed * 1000:.0f} ms")
    eligible = sum(s.eligible for s in scores)
    print(f"  in the target profile: {eligible:,} of {count:,} (rubric '{name[:40]}…')")


def fill(
    session: Session, round_id: uuid.UUID, count: int, rubric: scoring.Rubric, user: User
) -> None:
    """Bulk rows, scored with the real scorer: building 5,000 through the API would time that."""
    rng = random.Random(7)
    t0 = datetime.now(UTC) - timedelta(days=20)
    elders: list[dict[str, Any]] = []
    apps: list[dict[str, Any]] = []
    for i in range(count):
        elder_id = uuid.uuid4()
        answers = random_answers(rng)
        result = scoring.score(rubric, answers)
        elders.append({
            "id": elder_id, "version": 1, "national_id": f"{i:013d}", "first_name": f"ผู้สมัคร{i}",
            "last_name": rng.choice(["ใจดี", "ศรีสุข", "มีสุข"]), "birth_date": date(1945, 1, 1),
            "sex": Sex.FEMALE, "address": "1", "community": rng.choice(COMMUNITIES),
            "lives_alone": False, "has_carer": True, "mobility": "independent", "fall_risk": False,
            "falls_past_year": 0, "chronic_conditions": [], "status": ElderStatus.APPLICANT,
            "created_at": t0, "updated_at": t0,
        })  # fmt: skip
        apps.append({
            "id": uuid.uuid4(), "round_id": round_id, "elder_id": elder_id, "number": f"B-{i + 1:05d}",
            "first_name": elders[-1]["first_name"], "last_name": elders[-1]["last_name"],
            "birth_date": date(1945, 1, 1), "community": elders[-1]["community"],
            "answers": answers, "assessed_by": user.id, "assessed_at": t0, "submitted_by": user.id,
            "submitted_at": t0 + timedelta(seconds=rng.randrange(86400 * 20)),
            "total_centi": result.total_centi, "targets_met": list(result.targets_met),
            "targets_count": len(result.targets_met), "eligible": result.eligible, "adl": result.adl,
            "within_quota": False, "version": 1,
        })  # fmt: skip
    session.execute(sa.insert(Elder), elders)
    session.execute(sa.insert(Application), apps)
    session.commit()


def bench_page(count: int, database_url: str | None) -> None:
    tmp = tempfile.mkdtemp(prefix="eldercare-bench-")
    url = database_url or f"sqlite:///{tmp}/bench.db"
    upgrade(url)
    settings = Settings(env="test", database_url=url, secret_key="b" * 40, data_dir=Path(tmp))
    app = create_app(settings)
    engine = app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        admin = User(username=f"admin-{uuid.uuid4().hex[:6]}", full_name="admin", role=Role.ADMIN,
                     password_hash="x")  # fmt: skip
        member = User(username=f"committee-{uuid.uuid4().hex[:6]}", full_name="กรรมการ",
                      role=Role.COMMITTEE, password_hash="x")  # fmt: skip
        session.add_all([admin, member])
        session.commit()
        rubric_row = rubrics.ensure_default_rubric(session, user=admin)
        now = datetime.now(UTC)
        round_ = RoundRow(
            title="bench", issuer="เทศบาล", code=f"B{uuid.uuid4().hex[:6]}", rubric_id=rubric_row.id,
            devices=300, opens_at=now - timedelta(days=30), closes_at=now - timedelta(days=1),
            status=RoundStatus.CLOSED, chair_id=member.id,
        )  # fmt: skip
        session.add(round_)
        session.commit()
        elapsed, _ = timed(
            lambda: fill(session, round_.id, count, rubrics.parsed(rubric_row), admin)
        )
        print(f"insert {count:,} scored applications: {elapsed:.1f} s")

        def rank() -> None:
            rounds.rank_round(
                session, user=admin, round_id=round_.id, seed="bench", request_id=None
            )
            session.commit()  # the service flushes; the caller commits

        elapsed, _ = timed(rank)
        print(
            f"rank {count:,} in the database (read, rank, bulk update, snapshot): {elapsed:.2f} s"
        )
        round_id, token = round_.id, issue_token(session, member, settings=settings)
        session.commit()
    headers = {"Authorization": f"Bearer {token}", "accept": "text/html"}
    cases = {
        "page 1": f"/committee/rounds/{round_id}",
        "page 50 (ranks 2451-2500)": f"/committee/rounds/{round_id}?page=50",
        "last page": f"/committee/rounds/{round_id}?page={(count + 49) // 50}",
        "filter: community": f"/committee/rounds/{round_id}?community={COMMUNITIES[2]}",
        "filter: target + not voted": f"/committee/rounds/{round_id}?target=mobility_fall_risk&vote=undecided",
        "search: name": f"/committee/rounds/{round_id}?q=ผู้สมัคร4321",
        "API ranking JSON (200 rows)": f"/api/v1/eligibility/rounds/{round_id}/ranking?page_size=200",
    }
    with TestClient(app) as client:
        for label, path in cases.items():
            client.get(path, headers=headers)  # warm
            samples = []
            size = 0
            for _ in range(15):
                start = time.perf_counter()
                response = client.get(path, headers=headers)
                samples.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text[:200]
                size = len(response.content)
            samples.sort()
            print(
                f"committee {label}: median {statistics.median(samples) * 1000:.0f} ms, "
                f"p95 {samples[int(len(samples) * 0.95) - 1] * 1000:.0f} ms, {size / 1024:.0f} KiB"
            )
    engine.dispose()
    print(f"database: {'SQLite file' if url.startswith('sqlite') else 'PostgreSQL'}")


def load() -> str:
    try:
        return "load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average: ?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--page-applicants", type=int, default=5_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(machine_line())
    print(load())
    bench_pure(args.applications)
    bench_page(args.page_applicants, args.database_url)
    print(load())


if __name__ == "__main__":
    main()

"""FHIR Bulk Data export: `$export` kick-off, a status URL, NDJSON files.

The kick-off answers 202 at once with the status URL (Content-Location), as the specification
asks; a worker thread writes the files under <data_dir>/fhir-exports/<job>/ while the status
URL answers 202 with `X-Progress`, then 200 with the manifest. The job's state is a file in
that folder, so any server process can answer for it. Only the administrator who asked may
read the status and the files; `DELETE` on the status URL cancels and removes them; files are
removed 24 hours after the export started. Every page written is audited like a search (per
elder, with the resource ids) and committed as it is written.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import cast

from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.auth.models import User
from server.common.time import utcnow
from server.fhir import service

log = logging.getLogger(__name__)

PAGE = 1000
KEEP_FILES = timedelta(hours=24)
# A job whose file has not moved for this long lost its worker (the process was stopped).
STALLED_AFTER = timedelta(minutes=10)


class JobState(StrEnum):
    IN_PROGRESS = "in-progress"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass
class Job:
    id: uuid.UUID
    owner: uuid.UUID
    started_at: datetime
    request: str
    types: list[str]
    state: JobState = JobState.IN_PROGRESS
    updated_at: datetime = field(default_factory=utcnow)
    outputs: dict[str, int] = field(default_factory=dict)  # resource type → resources written
    progress: str = ""

    def stalled(self, now: datetime) -> bool:
        return self.state == JobState.IN_PROGRESS and now - self.updated_at > STALLED_AFTER


def _root(data_dir: Path) -> Path:
    return data_dir / "fhir-exports"


def _dir(data_dir: Path, job_id: uuid.UUID) -> Path:
    return _root(data_dir) / str(job_id)


def _save(data_dir: Path, job: Job) -> None:
    """Written whole and renamed into place: a reader never sees half a state."""
    job.updated_at = utcnow()
    record = asdict(job) | {
        "id": str(job.id),
        "owner": str(job.owner),
        "started_at": job.started_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "state": job.state.value,
    }
    folder = _dir(data_dir, job.id)
    temporary = folder / "job.json.tmp"
    temporary.write_text(json.dumps(record), encoding="utf-8")
    temporary.replace(folder / "job.json")


def _read(data_dir: Path, job_id: uuid.UUID) -> Job | None:
    try:
        data = json.loads((_dir(data_dir, job_id) / "job.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return Job(
        id=job_id, owner=uuid.UUID(data["owner"]),
        started_at=datetime.fromisoformat(data["started_at"]), request=data["request"],
        types=list(data["types"]), state=JobState(data["state"]),
        updated_at=datetime.fromisoformat(data["updated_at"]), outputs=dict(data["outputs"]),
        progress=data.get("progress", ""),
    )  # fmt: skip


def remove_expired(data_dir: Path, *, now: datetime | None = None) -> int:
    """Deletes exports older than a day (their files hold personal data); returns how many."""
    now = now or utcnow()
    removed = 0
    root = _root(data_dir)
    if not root.is_dir():
        return 0
    for folder in root.iterdir():
        try:
            job = _read(data_dir, uuid.UUID(folder.name))
        except ValueError:
            continue
        if job is None or now - job.started_at > KEEP_FILES:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def start_export(
    *,
    engine: Engine,
    data_dir: Path,
    actor: User,
    request_id: str | None,
    request_url: str,
    types: list[service.ResourceType],
    since: datetime | None,
) -> Job:
    """Records the job and starts its worker thread."""
    remove_expired(data_dir)
    job = Job(id=uuid.uuid4(), owner=actor.id, started_at=utcnow(), request=request_url,
              types=list(types))  # fmt: skip
    _dir(data_dir, job.id).mkdir(parents=True)
    _save(data_dir, job)
    worker = threading.Thread(
        target=_run, name=f"fhir-export-{job.id}", daemon=True,
        kwargs={"engine": engine, "data_dir": data_dir, "job": job, "actor_id": actor.id,
                "request_id": request_id, "since": since},
    )  # fmt: skip
    worker.start()
    return job


def _cancelled(data_dir: Path, job: Job) -> bool:
    return not (_dir(data_dir, job.id) / "job.json").is_file()


def _run(
    *,
    engine: Engine,
    data_dir: Path,
    job: Job,
    actor_id: uuid.UUID,
    request_id: str | None,
    since: datetime | None,
) -> None:
    folder = _dir(data_dir, job.id)
    try:
        with Session(engine, expire_on_commit=False) as session:
            actor = session.get(User, actor_id)
            if actor is None:
                raise LookupError("the exporting user is gone")
            for resource_type in job.types:
                written = 0
                with (folder / f"{resource_type}.ndjson").open("w", encoding="utf-8") as out:
                    offset = 0
                    while True:
                        page = service.export_page(
                            session, resource_type=cast(service.ResourceType, resource_type),
                            actor=actor, request_id=request_id, since=since, count=PAGE,
                            offset=offset,
                        )  # fmt: skip
                        for resource in page.resources:
                            out.write(json.dumps(resource, ensure_ascii=False) + "\n")
                        out.flush()
                        session.commit()  # the audit of what was just written
                        written += len(page.resources)
                        if _cancelled(data_dir, job):
                            shutil.rmtree(folder, ignore_errors=True)
                            return
                        job.progress = f"{resource_type} {written}"
                        _save(data_dir, job)
                        if not page.more:
                            break
                        offset += PAGE
                job.outputs[resource_type] = written
            job.state = JobState.COMPLETE
            job.progress = ""
            _save(data_dir, job)
    except Exception:
        # Logged by id only: the export's contents are personal data.
        log.exception("FHIR export %s failed", job.id)
        if not _cancelled(data_dir, job):
            job.state = JobState.FAILED
            _save(data_dir, job)


def load_job(data_dir: Path, job_id: uuid.UUID, *, actor: User) -> Job | None:
    job = _read(data_dir, job_id)
    if job is None or job.owner != actor.id:
        return None
    if job.stalled(utcnow()):
        job.state = JobState.FAILED
    return job


def cancel(data_dir: Path, job: Job) -> None:
    """Removes the job's files; a worker still writing sees its state gone and stops."""
    shutil.rmtree(_dir(data_dir, job.id), ignore_errors=True)


def output_file(data_dir: Path, job: Job, resource_type: str) -> Path | None:
    if job.state != JobState.COMPLETE or resource_type not in job.outputs:
        return None
    path = _dir(data_dir, job.id) / f"{resource_type}.ndjson"
    return path if path.is_file() else None

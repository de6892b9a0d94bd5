"""FHIR Bulk Data export: `$export` kick-off, a status URL with the manifest, NDJSON files.

The kick-off answers 202 with the status URL (Content-Location) as the specification asks;
the files are written at once (a municipality's export is minutes of work at most), under
<data_dir>/fhir-exports/<job>/, and only the administrator who asked may fetch them.
Every page written is audited like a search (per elder, with the resource ids).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from server.auth.models import User
from server.common.time import utcnow
from server.fhir import service

PAGE = 1000


@dataclass
class Job:
    id: uuid.UUID
    owner: uuid.UUID
    started_at: datetime
    request: str
    outputs: dict[str, int]  # resource type → resources written


def _dir(data_dir: Path, job_id: uuid.UUID) -> Path:
    return data_dir / "fhir-exports" / str(job_id)


def run_export(
    session: Session,
    *,
    data_dir: Path,
    actor: User,
    request_id: str | None,
    request_url: str,
    types: list[service.ResourceType],
    since: datetime | None,
) -> Job:
    job = Job(id=uuid.uuid4(), owner=actor.id, started_at=utcnow(), request=request_url,
              outputs={})  # fmt: skip
    folder = _dir(data_dir, job.id)
    folder.mkdir(parents=True)
    for resource_type in types:
        written = 0
        with (folder / f"{resource_type}.ndjson").open("w", encoding="utf-8") as out:
            offset = 0
            while True:
                page = service.export_page(
                    session, resource_type=resource_type, actor=actor, request_id=request_id,
                    since=since, count=PAGE, offset=offset,
                )  # fmt: skip
                for resource in page.resources:
                    out.write(json.dumps(resource, ensure_ascii=False) + "\n")
                written += len(page.resources)
                if not page.more:
                    break
                offset += PAGE
        job.outputs[resource_type] = written
    (folder / "job.json").write_text(
        json.dumps(
            {
                "owner": str(job.owner),
                "started_at": job.started_at.isoformat(),
                "request": job.request,
                "outputs": job.outputs,
            }
        ),
        encoding="utf-8",
    )
    return job


def load_job(data_dir: Path, job_id: uuid.UUID, *, actor: User) -> Job | None:
    meta = _dir(data_dir, job_id) / "job.json"
    if not meta.is_file():
        return None
    data = json.loads(meta.read_text(encoding="utf-8"))
    if data["owner"] != str(actor.id):
        return None
    return Job(id=job_id, owner=actor.id, started_at=datetime.fromisoformat(data["started_at"]),
               request=data["request"], outputs=data["outputs"])  # fmt: skip


def output_file(data_dir: Path, job: Job, resource_type: str) -> Path | None:
    if resource_type not in job.outputs:
        return None
    path = _dir(data_dir, job.id) / f"{resource_type}.ndjson"
    return path if path.is_file() else None

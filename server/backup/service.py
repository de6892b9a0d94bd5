"""Backups: a consistent copy of the database, encrypted, checksummed, kept by count and age;
and a restore into a new database that proves itself (row counts, audit log, migrations).

File layout (`*.ecbk`):
    MAGIC (8 bytes) | header length (4, big-endian) | header (JSON, UTF-8) | chunks...
    chunk = length (4, big-endian) | AES-256-GCM ciphertext with its 16-byte tag
Each chunk's nonce is a random 8-byte prefix (in the header) plus the chunk number, and its
associated data binds the header's digest, the chunk number and whether it is the last one:
a chunk moved, dropped, swapped or cut off fails to decrypt, and a file without its final
chunk is reported as truncated. The header also carries the SHA-256 of the plain dump, so
the restored bytes are checked end to end. A `.sha256` file beside it (the `sha256sum`
format) lets an off-site copy be checked without the key.

A consistent copy while hubs keep writing: SQLite's online backup API copies a snapshot;
PostgreSQL's dump runs on an exported snapshot, and the row counts and the audit digest in the
header are taken in that same snapshot, so they describe exactly what the dump holds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Connection, make_url

MAGIC = b"ECBKUP01"
FORMAT_VERSION = 1
CHUNK = 4 * 1024 * 1024
SUFFIX = ".ecbk"
# Tables whose rows are only bookkeeping of the migration tool.
SKIP_TABLES = frozenset({"alembic_version"})


class BackupError(Exception):
    """A backup could not be made, or a file is not a sound backup: the message says which."""


@dataclass
class BackupResult:
    path: Path
    size: int
    tables: dict[str, int]
    revision: str | None
    removed: list[Path] = field(default_factory=list)


@dataclass
class VerifyReport:
    ok: bool
    problems: list[str]
    tables: dict[str, int]
    revision: str | None


# ----------------------------------------------------------------- keys


def backup_key(*, key: str | None, secret_key: str) -> bytes:
    """A 32-byte key: ELDERCARE_BACKUP_KEY (base64 of 32 bytes) or one derived from the secret.

    A derived key ties backups to ELDERCARE_SECRET_KEY; production should set its own key and
    keep a copy of it away from the backups (a backup is useless without its key).
    """
    if key:
        try:
            raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
        except ValueError as exc:
            raise BackupError("ELDERCARE_BACKUP_KEY is not base64") from exc
        if len(raw) != 32:
            raise BackupError("ELDERCARE_BACKUP_KEY must be 32 bytes (base64-encoded)")
        return raw
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"eldercare backup v1")
    return hkdf.derive(secret_key.encode("utf-8"))


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii").rstrip("=")


# ----------------------------------------------------------------- database facts


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _tables(conn: Connection) -> list[str]:
    names = sa.inspect(conn).get_table_names()
    return sorted(n for n in names if n not in SKIP_TABLES)


def _facts(conn: Connection) -> tuple[dict[str, int], str, str | None]:
    """Row counts, a digest of the audit log in id order, and the migration revision."""
    counts = {
        # Table names come from the database's own catalogue, not from input.
        table: int(
            conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
        )
        for table in _tables(conn)
    }
    digest = hashlib.sha256()
    if "audit_log" in counts:
        rows = conn.execute(
            sa.text(
                "SELECT id, at, action, entity, entity_id, elder_id, actor_id FROM audit_log "
                "ORDER BY id"
            )
        )
        for row in rows:
            digest.update(_canonical(row).encode("utf-8"))
    revision = None
    if "alembic_version" in sa.inspect(conn).get_table_names():
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return counts, digest.hexdigest(), revision


def _canonical(row: Any) -> str:
    parts = []
    for value in row:
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
            value = value.strftime("%Y-%m-%dT%H:%M:%S.%f")
        elif value is not None:
            value = str(value).replace("-", "") if _looks_like_uuid(value) else str(value)
        parts.append("" if value is None else str(value))
    return "\x1f".join(parts) + "\n"


def _looks_like_uuid(value: object) -> bool:
    text = str(value)
    return len(text) in (32, 36) and all(c in "0123456789abcdef-" for c in text.lower())


def _libpq_url(url: str) -> str:
    """`postgresql+psycopg://...` as the libpq URL pg_dump and pg_restore take."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


# ----------------------------------------------------------------- making a backup


def _dump_sqlite(url: str, plain: Path) -> tuple[dict[str, int], str, str | None]:
    source = sqlite3.connect(_sqlite_path(url), timeout=30)
    try:
        target = sqlite3.connect(plain)
        try:
            # The online backup API: a consistent snapshot while writers carry on.
            source.backup(target, pages=1024)
        finally:
            target.close()
    finally:
        source.close()
    engine = _engine(f"sqlite:///{plain}")
    try:
        with engine.connect() as conn:
            return _facts(conn)
    finally:
        engine.dispose()


def _dump_postgres(url: str, plain: Path) -> tuple[dict[str, int], str, str | None]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            facts = _facts(conn)
            # The dump reads the very snapshot the facts were taken in.
            _run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                  f"--file={plain}", _libpq_url(url)])  # fmt: skip
            conn.rollback()
    finally:
        engine.dispose()
    return facts


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:500]}")


def create_backup(
    *,
    database_url: str,
    directory: Path,
    key: bytes,
    keep_count: int = 14,
    keep_days: int = 35,
    now: datetime | None = None,
) -> BackupResult:
    """Copies the database into `directory` as an encrypted file, then applies retention."""
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    target = directory / f"eldercare-{dialect}-{stamp}{SUFFIX}"
    with tempfile.TemporaryDirectory(dir=directory, prefix=".backup-") as tmp:
        plain = Path(tmp) / "dump"
        if dialect == "sqlite":
            counts, audit_digest, revision = _dump_sqlite(database_url, plain)
        else:
            counts, audit_digest, revision = _dump_postgres(database_url, plain)
        header = {
            "format": FORMAT_VERSION, "dialect": dialect, "created_at": now.isoformat(),
            "revision": revision, "tables": counts, "audit_sha256": audit_digest,
            "payload_sha256": _sha256_file(plain), "payload_size": plain.stat().st_size,
            "nonce_prefix": base64.b64encode(os.urandom(8)).decode("ascii"),
            "chunk": CHUNK,
        }  # fmt: skip
        partial = target.with_suffix(SUFFIX + ".part")
        _encrypt(plain, partial, header=header, key=key)
        os.replace(partial, target)  # never a half-written file under the final name
    (target.parent / (target.name + ".sha256")).write_text(
        f"{_sha256_file(target)}  {target.name}\n", encoding="ascii"
    )
    removed = apply_retention(directory, keep_count=keep_count, keep_days=keep_days, now=now)
    return BackupResult(path=target, size=target.stat().st_size, tables=counts,
                        revision=revision, removed=removed)  # fmt: skip


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def _aad(header_digest: bytes, index: int, last: bool) -> bytes:
    return header_digest + struct.pack(">QB", index, 1 if last else 0)


def _encrypt(plain: Path, target: Path, *, header: dict[str, Any], key: bytes) -> None:
    header_bytes = json.dumps(header, sort_keys=True).encode("utf-8")
    header_digest = hashlib.sha256(header_bytes).digest()
    prefix = base64.b64decode(header["nonce_prefix"])
    aead = AESGCM(key)
    size = plain.stat().st_size
    chunks = max(1, -(-size // CHUNK))
    with plain.open("rb") as source, target.open("wb") as out:
        out.write(MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes)
        for index in range(chunks):
            block = source.read(CHUNK)
            sealed = aead.encrypt(_nonce(prefix, index), block,
                                  _aad(header_digest, index, index == chunks - 1))  # fmt: skip
            out.write(struct.pack(">I", len(sealed)) + sealed)
        out.flush()
        os.fsync(out.fileno())


def apply_retention(
    directory: Path, *, keep_count: int, keep_days: int, now: datetime | None = None
) -> list[Path]:
    """Keeps the newest `keep_count` backups and drops any older than `keep_days`, but never
    the newest one: an old backup is better than none."""
    now = now or datetime.now(UTC)
    backups = sorted(directory.glob(f"eldercare-*{SUFFIX}"), key=lambda p: p.name, reverse=True)
    removed = []
    for position, path in enumerate(backups):
        age = now - datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if position == 0:
            continue
        if position >= keep_count or age > timedelta(days=keep_days):
            path.unlink()
            sidecar = path.parent / (path.name + ".sha256")
            sidecar.unlink(missing_ok=True)
            removed.append(path)
    return removed


# ----------------------------------------------------------------- reading a backup


def read_header(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return _header(handle)[0]


def _header(handle: Any) -> tuple[dict[str, Any], bytes]:
    start = handle.read(len(MAGIC) + 4)
    if len(start) < len(MAGIC) + 4 or start[: len(MAGIC)] != MAGIC:
        raise BackupError("not an eldercare backup file (wrong or missing signature)")
    (length,) = struct.unpack(">I", start[len(MAGIC) :])
    if length > 1 << 20:
        raise BackupError("backup header is damaged (impossible length)")
    raw = handle.read(length)
    if len(raw) != length:
        raise BackupError("backup is truncated (header cut short)")
    try:
        header: dict[str, Any] = json.loads(raw)
    except ValueError as exc:
        raise BackupError("backup header is damaged (not JSON)") from exc
    if header.get("format") != FORMAT_VERSION:
        raise BackupError(f"unsupported backup format {header.get('format')!r}")
    return header, raw


def decrypt(path: Path, plain: Path, *, key: bytes) -> dict[str, Any]:
    """Decrypts and checks a backup into `plain`; raises BackupError saying what is wrong."""
    aead = AESGCM(key)
    digest = hashlib.sha256()
    with path.open("rb") as handle, plain.open("wb") as out:
        header, raw = _header(handle)
        header_digest = hashlib.sha256(raw).digest()
        prefix = base64.b64decode(header["nonce_prefix"])
        size = int(header["payload_size"])
        chunks = max(1, -(-size // int(header["chunk"])))
        for index in range(chunks):
            length_bytes = handle.read(4)
            if len(length_bytes) < 4:
                raise BackupError(f"backup is truncated (chunk {index + 1} of {chunks} missing)")
            (length,) = struct.unpack(">I", length_bytes)
            sealed = handle.read(length)
            if len(sealed) != length:
                raise BackupError(f"backup is truncated (chunk {index + 1} of {chunks} cut short)")
            try:
                block = aead.decrypt(_nonce(prefix, index), sealed,
                                     _aad(header_digest, index, index == chunks - 1))  # fmt: skip
            except InvalidTag as exc:
                raise BackupError(
                    f"backup is corrupted or the key is wrong (chunk {index + 1} of {chunks} "
                    "failed its authentication check)"
                ) from exc
            digest.update(block)
            out.write(block)
        if handle.read(1):
            raise BackupError("backup has unexpected bytes after its last chunk")
    if digest.hexdigest() != header["payload_sha256"]:
        raise BackupError("backup checksum does not match its contents")
    return header


# ----------------------------------------------------------------- restoring


def restore_backup(*, path: Path, target_url: str, key: bytes) -> VerifyReport:
    """Restores into a new (absent or empty) database, then verifies it against the header."""
    if not path.is_file():
        raise BackupError(f"no such backup file: {path}")
    with tempfile.TemporaryDirectory(prefix="eldercare-restore-") as tmp:
        plain = Path(tmp) / "dump"
        header = decrypt(path, plain, key=key)
        target_is_sqlite = target_url.startswith("sqlite")
        if (header["dialect"] == "sqlite") != target_is_sqlite:
            raise BackupError(
                f"a {header['dialect']} backup restores into a {header['dialect']} database"
            )
        if target_is_sqlite:
            target = _sqlite_path(target_url)
            if target.exists():
                raise BackupError(f"{target} exists: restore into a new database file")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(plain, target)
        else:
            _prepare_postgres(target_url)
            _run(["pg_restore", "--no-owner", "--exit-on-error",
                  f"--dbname={_libpq_url(target_url)}", str(plain)])  # fmt: skip
    return verify(target_url, header)


def _prepare_postgres(url: str) -> None:
    """Creates the target database if it is missing; refuses one that already has tables."""
    parsed = make_url(url)
    admin = _engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            ).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
                return
    finally:
        admin.dispose()
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            if sa.inspect(conn).get_table_names():
                raise BackupError(
                    f"database {parsed.database} already has tables: restore into a new one"
                )
    finally:
        engine.dispose()


def verify(target_url: str, header: dict[str, Any]) -> VerifyReport:
    """Row counts, the audit log (digest of every row in order) and the migration revision."""
    from alembic.script import ScriptDirectory

    from server.migrate import alembic_config

    engine = _engine(target_url)
    try:
        with engine.connect() as conn:
            counts, audit_digest, revision = _facts(conn)
            triggers = _audit_triggers(conn)
    finally:
        engine.dispose()
    problems = []
    expected: dict[str, int] = header["tables"]
    for table in sorted(set(expected) | set(counts)):
        if expected.get(table) != counts.get(table):
            problems.append(
                f"table {table}: {counts.get(table)} rows, backup had {expected.get(table)}"
            )
    if audit_digest != header["audit_sha256"]:
        problems.append("audit log differs from the one backed up")
    if triggers < (2 if target_url.startswith("sqlite") else 1):
        problems.append("audit log is no longer append-only (its triggers are missing)")
    if revision != header["revision"]:
        problems.append(f"migration revision {revision}, backup had {header['revision']}")
    head = ScriptDirectory.from_config(alembic_config(target_url)).get_current_head()
    if revision != head:
        problems.append(
            f"database is at migration {revision}, this server expects {head}: "
            "run `eldercare db upgrade` against it before use"
        )
    return VerifyReport(ok=not problems, problems=problems, tables=counts, revision=revision)


def _audit_triggers(conn: Connection) -> int:
    if conn.dialect.name == "sqlite":
        query = (
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
        )
    else:
        query = (
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = 'audit_log' AND NOT t.tgisinternal"
        )
    return int(conn.execute(sa.text(query)).scalar_one())


@contextmanager
def restored_copy(path: Path, *, key: bytes) -> Iterator[Path]:
    """The decrypted dump in a temporary place (for checks that need the bytes)."""
    with tempfile.TemporaryDirectory(prefix="eldercare-check-") as tmp:
        plain = Path(tmp) / "dump"
        decrypt(path, plain, key=key)
        yield plain

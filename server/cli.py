"""`eldercare` — the server-side command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from sqlmodel import Session

from server.config import Settings, get_settings

log = logging.getLogger("eldercare")


def _session(settings: Settings) -> Session:
    from server.db import make_engine

    return Session(make_engine(settings.database_url), expire_on_commit=False)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from server.migrate import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"database is at revision {args.revision}: {_redact(settings.database_url)}")
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from server.telemetry.config import LogSettings

    # JSON logs: uvicorn keeps its hands off the loggers, so its lines go out as JSON too.
    log_config = None if LogSettings().format == "json" else LOGGING_CONFIG
    if workers > 1:
        _metrics_shared_by(settings, port=port)

    uvicorn.run(
        "server.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=log_config,
        ws_max_size=2 * 1_048_576,
        # No per-message compression on WebSockets: under the soak's 600 sockets the event
        # loop was found compressing consoles' frames, one socket at a time, in every sample,
        # and each socket's zlib contexts hold about 130 KiB. Frames are small JSON.
        ws_per_message_deflate=False,
    )


def _metrics_shared_by(settings: Settings, *, port: int) -> None:
    """Workers count into files that any worker's /metrics adds up (see
    server.telemetry.instruments). Values left by an earlier run are cleared: counters start
    again with the server, as a single process's do."""
    import os
    import shutil

    folder = Path(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.data_dir / f"metrics-{port}"
    )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # the workers inherit it


# A server started while its database restarts (a failover, a crash and recovery) waits for
# it this long rather than exiting at once; past that it exits and its supervisor decides.
DATABASE_WAIT_S = 120.0


def _upgrade_when_reachable(url: str, *, wait_s: float = DATABASE_WAIT_S) -> None:
    import time

    from sqlalchemy.exc import OperationalError

    from server.migrate import upgrade

    deadline = time.monotonic() + wait_s
    pause = 0.5
    while True:
        try:
            upgrade(url)
            return
        except OperationalError as exc:
            if time.monotonic() + pause > deadline:
                raise
            log.warning(
                "database not reachable (%s); trying again in %.1f s",
                str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__,
                pause,
            )
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    _upgrade_when_reachable(settings.database_url)
    _serve(settings, host=args.host, port=args.port, workers=args.workers)
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Turns queued hub readings into triaged observations until stopped (SIGTERM/SIGINT)."""
    import threading

    from server.common.collector import collector_for_a_long_run
    from server.db import make_engine
    from server.devices.config import DevicesSettings
    from server.devices.store import project_readings
    from server.wiring import install_domain_hooks

    # Readings can raise alerts here: their chains must start as they do in the server.
    install_domain_hooks()
    engine = make_engine(settings.database_url)
    devices = DevicesSettings()
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("reading worker started")
    with collector_for_a_long_run():
        while not stop.is_set():
            try:
                with Session(engine, expire_on_commit=False) as session:
                    done = project_readings(session, settings=devices, limit=args.batch)
            except Exception:
                log.exception("turning readings into observations failed; will retry")
                done = 0
            if done == 0:
                stop.wait(args.idle_wait)
    engine.dispose()
    log.info("reading worker stopped")
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from server.migrate import upgrade
    from server.seed import SeedRefused, seed_demo

    upgrade(settings.database_url)
    try:
        with _session(settings) as session:
            seed_demo(session, settings=settings)
    except SeedRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print("demo data is in place")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from server.migrate import upgrade
    from server.seed import DEMO_PASSWORD, DEMO_USERS, SeedRefused, seed_demo

    if settings.env == "production":
        print("refused: `eldercare demo` never runs with ELDERCARE_ENV=production", file=sys.stderr)
        return 2
    upgrade(settings.database_url)
    try:
        with _session(settings) as session:
            seed_demo(session, settings=settings)
    except SeedRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    url = f"http://{args.host}:{args.port}"
    print(
        "\n".join(
            [
                "",
                "eldercare demo",
                f"  open          {url}/login",
                f"  database      {_redact(settings.database_url)}",
                f"  password      {DEMO_PASSWORD}  (every demo user)",
                "  users         " + ", ".join(u.username for u in DEMO_USERS),
                "  start with    admin (users, elders), dispatcher (console),",
                "                caregiver or volunteer (the care app, /app/, works offline)",
                "",
            ]
        ),
        flush=True,
    )
    from server.devices.demo import simulated_hubs

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with simulated_hubs(settings, server_url=url):
        _serve(settings, host=args.host, port=args.port, workers=1)
    return 0


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # uvicorn stops on SIGTERM and then raises it again; the default action would end the
    # process at once and leave the simulated hubs running without a server.
    raise SystemExit(128 + signum)


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from server.auth.models import Role
    from server.auth.service import create_user, get_user_by_username, password_problem
    from server.i18n import translate

    password = args.password or getpass.getpass("password: ")
    problem = password_problem(password, username=args.username)
    if problem:
        print(translate(problem, "en"), file=sys.stderr)
        return 2
    with _session(settings) as session:
        if get_user_by_username(session, args.username):
            print(f"user {args.username!r} exists already", file=sys.stderr)
            return 2
        user = create_user(
            session, username=args.username, password=password, full_name=args.name,
            role=Role(args.role),
        )  # fmt: skip
        session.commit()
    print(f"created {user.username} ({user.role})")
    return 0


def cmd_users_prune(args: argparse.Namespace, settings: Settings) -> int:
    from server.auth.service import prune_auth_records

    with _session(settings) as session:
        attempts, sessions = prune_auth_records(session, keep_days=args.keep_days)
        session.commit()
    print(f"removed {attempts} login attempts and {sessions} ended sessions")
    return 0


def cmd_devices_prune(args: argparse.Namespace, settings: Settings) -> int:
    from server.devices.config import DevicesSettings
    from server.devices.service import prune_events

    keep_days = DevicesSettings().event_retention_days if args.keep_days is None else args.keep_days
    if keep_days < 30:
        print("--keep-days must be at least 30", file=sys.stderr)
        return 2
    with _session(settings) as session:
        removed = prune_events(session, keep_days=keep_days)
    print(f"removed {removed} hub events received more than {keep_days} days ago")
    return 0


def cmd_import_elders(args: argparse.Namespace, settings: Settings) -> int:
    from server.elders.importer import import_elders, read_rows

    path = Path(args.file)
    if not path.exists():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    try:
        rows = read_rows(path)
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return 2
    with _session(settings) as session:
        report = import_elders(session, rows=rows, actor=None)
        if report.ok:
            session.commit()
    if not report.ok:
        print(f"nothing was imported: {len(report.errors)} problem(s)", file=sys.stderr)
        for err in report.errors:
            print(f"  row {err.row}, column {err.column}: {err.reason}", file=sys.stderr)
        return 1
    print(
        f"imported: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )
    return 0


def cmd_devices_add(args: argparse.Namespace, settings: Settings) -> int:
    from server.devices import service
    from server.devices.models import DeviceKind
    from server.elders.models import Elder
    from server.errors import ApiError

    with _session(settings) as session:
        try:
            device, token = service.register_device(
                session, elder_id=uuid.UUID(args.elder), kind=DeviceKind(args.kind),
                label=args.label, actor=None,
            )  # fmt: skip
        except ApiError:
            print(f"no elder with id {args.elder}", file=sys.stderr)
            return 2
        session.commit()
        elder = session.get(Elder, device.elder_id)
        assert elder is not None  # register_device checked it
        print(f"device {device.id} ({device.kind}) for {elder.first_name} {elder.last_name}")
        if token is not None:
            print(f"hub token (shown once, keep it on the hub only): {token}")
    return 0


def _backup_key(settings: Settings) -> bytes:
    from server.backup.config import BackupSettings
    from server.backup.service import backup_key

    return backup_key(key=BackupSettings().key, secret_key=settings.secret_key)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from server.backup.config import BackupSettings
    from server.backup.service import BackupError, create_backup, new_key

    if args.action == "key":
        print(new_key())
        return 0
    conf = BackupSettings()
    directory = Path(args.dir) if args.dir else conf.dir or settings.data_dir / "backups"
    try:
        result = create_backup(
            database_url=settings.database_url, directory=directory, key=_backup_key(settings),
            keep_count=args.keep or conf.keep_count, keep_days=args.keep_days or conf.keep_days,
        )  # fmt: skip
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    rows = sum(result.tables.values())
    print(f"backup written: {result.path} ({result.size} bytes, {len(result.tables)} tables, "
          f"{rows} rows, migration {result.revision})")  # fmt: skip
    for old in result.removed:
        print(f"removed by retention: {old}")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from server.backup.service import BackupError, restore_backup

    try:
        report = restore_backup(path=Path(args.file), target_url=args.into,
                                key=_backup_key(settings))  # fmt: skip
    except BackupError as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 1
    rows = sum(report.tables.values())
    print(f"restored into {_redact(args.into)}: {len(report.tables)} tables, {rows} rows, "
          f"migration {report.revision}")  # fmt: skip
    if not report.ok:
        for problem in report.problems:
            print(f"verify: {problem}", file=sys.stderr)
        return 3
    print("verified: row counts, audit log and migration revision match the backup")
    return 0


def cmd_devices_phone(args: argparse.Namespace, settings: Settings) -> int:
    from server.inbound_sms.service import PhoneNumberError, register_phone

    with _session(settings) as session:
        try:
            row = register_phone(session, device_id=uuid.UUID(args.device), phone=args.number)
        except (LookupError, PhoneNumberError, ValueError) as exc:
            print(str(exc), file=sys.stderr)
            return 2
        session.commit()
        print(f"device {row.device_id} texts from {row.phone}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eldercare", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database migrations").add_subparsers(dest="db", required=True)
    up = db.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)

    for name, func, helptext in (
        ("serve", cmd_serve, "migrate, then run the server"),
        ("demo", cmd_demo, "migrate, seed demo data, run the server"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--host", default=get_settings().host)
        p.add_argument("--port", type=int, default=get_settings().port)
        if name == "serve":
            p.add_argument("--workers", type=int, default=get_settings().workers)
        p.set_defaults(func=func)

    worker = sub.add_parser(
        "worker",
        help="turn queued hub readings into triaged observations (with ELDERCARE_DEVICES_READINGS=worker)",
    )
    worker.add_argument("--batch", type=int, default=100, help="readings per transaction")
    worker.add_argument(
        "--idle-wait", type=float, default=0.2, help="seconds to wait when nothing is queued"
    )
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("seed", help="seed demo data (refused in production)").set_defaults(
        func=cmd_seed
    )

    users = sub.add_parser("users", help="people who log in").add_subparsers(
        dest="users", required=True
    )
    add = users.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--password", help="prompted for when omitted")
    add.set_defaults(func=cmd_users_add)
    prune = users.add_parser(
        "prune", help="delete login attempts and ended sessions older than the retention"
    )
    prune.add_argument("--keep-days", type=int, default=90)
    prune.set_defaults(func=cmd_users_prune)

    imp = sub.add_parser("import", help="import records").add_subparsers(dest="what", required=True)
    el = imp.add_parser("elders", help="import elders from .csv or .xlsx (all or nothing)")
    el.add_argument("file")
    el.set_defaults(func=cmd_import_elders)

    dev = sub.add_parser("devices", help="home hubs and devices").add_subparsers(
        dest="devices", required=True
    )
    dadd = dev.add_parser("add", help="register a device for an elder (a hub gets a token)")
    dadd.add_argument("--elder", required=True, help="elder id")
    dadd.add_argument("--kind", default="hub")
    dadd.add_argument("--label")
    dadd.set_defaults(func=cmd_devices_add)

    backup = sub.add_parser("backup", help="encrypted backup of the database (see README)")
    backup.add_argument("action", nargs="?", choices=["create", "key"], default="create",
                        help="create (default) a backup, or print a new backup key")  # fmt: skip
    backup.add_argument("--dir", help="where to write it (default ELDERCARE_BACKUP_DIR)")
    backup.add_argument("--keep", type=int, help="backups to keep (by count)")
    backup.add_argument("--keep-days", type=int, help="drop backups older than this")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup into a new database and verify it")
    restore.add_argument("file")
    restore.add_argument("--into", required=True,
                         help="the new database: sqlite:///path.db or postgresql+psycopg://…/name")  # fmt: skip
    restore.set_defaults(func=cmd_restore)
    dphone = dev.add_parser(
        "phone", help="the number a hub's SIM or a GSM pendant texts from (inbound SMS alarms)"
    )
    dphone.add_argument("device", help="device id")
    dphone.add_argument("number", help="e.g. 081-234-5678 or +66812345678")
    dphone.set_defaults(func=cmd_devices_phone)
    dprune = dev.add_parser(
        "prune", help="delete hub events older than the retention (observations and alerts stay)"
    )
    dprune.add_argument(
        "--keep-days", type=int, help="default: ELDERCARE_DEVICES_EVENT_RETENTION_DAYS (400)"
    )
    dprune.set_defaults(func=cmd_devices_prune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from server.telemetry.logs import configure

    configure()
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    code: int = args.func(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())

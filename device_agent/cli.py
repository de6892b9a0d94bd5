"""``eldercare-agent``: run a hub, simulate hubs, or scan for BLE devices.

Exit codes: 0 done, 1 interrupted, 2 bad configuration or arguments, 3 the server refused the
hub token, 4 BLE support missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from device_agent.config import ConfigError, UplinkConfig, load_config
from device_agent.runtime import load_ble, run_agent
from device_agent.simulate import SimulationOptions, run_simulation
from device_agent.uplink import UplinkAuthError

EXIT_INTERRUPTED = 1
EXIT_CONFIG = 2
EXIT_AUTH = 3
EXIT_NO_BLE = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eldercare-agent", description=__doc__.split("\n")[0])
    parser.add_argument("--log-level", default=None, choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the hub agent from agent.toml")
    run.add_argument("--config", type=Path, default=Path("agent.toml"))

    sim = commands.add_parser("simulate", help="simulated hubs sending realistic events")
    sim.add_argument("--server", required=True, help="server base URL, e.g. http://127.0.0.1:8000")
    sim.add_argument(
        "--token", action="append", required=True, help="hub token (repeat: one per hub, cycled)"
    )
    sim.add_argument("--hubs", type=int, default=1)
    sim.add_argument("--rate", type=float, default=1.0, help="readings per second per hub")
    sim.add_argument(
        "--panic-every", type=float, default=0.0, metavar="S", help="panic press every ~S s per hub"
    )
    sim.add_argument("--abnormal", type=float, default=0.05, help="fraction of abnormal readings")
    sim.add_argument("--heartbeat-interval", type=float, default=30.0, metavar="S")
    sim.add_argument("--state-dir", type=Path, default=Path("var/simulate"))
    sim.add_argument("--count", type=int, default=None, help="readings per hub, then stop")
    sim.add_argument(
        "--exit-when-drained", action="store_true", help="exit once --count is sent and acked"
    )
    sim.add_argument("--id-log", type=Path, default=None, help="append every stored event id")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--backoff-cap", type=float, default=30.0, metavar="S")

    scan = commands.add_parser("scan", help="list BLE devices nearby and the driver for each")
    scan.add_argument("--timeout", type=float, default=10.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "simulate":
            return _simulate(args)
        return _scan(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _until_signalled(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main``; SIGTERM/SIGINT cancel it so the outbox closes cleanly.

    Nothing depends on this for safety: every stored event is already committed.
    """

    async def runner() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(runner())


def _logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"eldercare-agent: bad configuration:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    _logging(args.log_level or config.log_level)
    _until_signalled(run_agent(config))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    _logging(args.log_level or "INFO")
    if args.hubs < 1 or args.rate < 0 or args.panic_every < 0 or not 0 <= args.abnormal <= 1:
        print(
            "eldercare-agent: --hubs ≥ 1, --rate ≥ 0, --panic-every ≥ 0, 0 ≤ --abnormal ≤ 1",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    options = SimulationOptions(
        server_url=args.server,
        tokens=args.token,
        hubs=args.hubs,
        rate=args.rate,
        panic_every_s=args.panic_every,
        abnormal_fraction=args.abnormal,
        heartbeat_interval_s=args.heartbeat_interval,
        state_dir=args.state_dir,
        count=args.count,
        exit_when_drained=args.exit_when_drained,
        id_log=args.id_log,
        seed=args.seed,
        uplink=UplinkConfig(
            backoff_cap_s=args.backoff_cap, backoff_base_s=min(0.5, args.backoff_cap)
        ),
    )
    try:
        _until_signalled(run_simulation(options))
    except UplinkAuthError as exc:
        print(f"eldercare-agent: {exc}", file=sys.stderr)
        return EXIT_AUTH
    return 0


def _scan(args: argparse.Namespace) -> int:
    _logging(args.log_level or "WARNING")
    try:
        scan = load_ble("scan")
    except ImportError as exc:
        print(
            f"eldercare-agent: BLE support is not available in this build ({exc})", file=sys.stderr
        )
        return EXIT_NO_BLE
    results = asyncio.run(scan(timeout=args.timeout))
    if not results:
        print("no BLE devices found")
        return 0
    print(f"{'address':<20} {'rssi':>5}  {'name':<24} driver")
    for result in results:
        address = getattr(result, "address", "?")
        rssi = getattr(result, "rssi", None)
        name = getattr(result, "name", None) or "-"
        driver = getattr(result, "driver", None) or "(none)"
        print(f"{address:<20} {rssi if rssi is not None else '':>5}  {name:<24} {driver}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

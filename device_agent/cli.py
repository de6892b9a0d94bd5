"""``eldercare-agent``: run a hub, simulate hubs, or scan for BLE devices.

Exit codes: 0 done, 1 interrupted, 2 bad configuration or arguments, 3 the server refused the
hub token, 4 BLE support not installed, 5 no usable Bluetooth adapter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from device_agent.config import ConfigError, UplinkConfig, load_config, parse_config
from device_agent.outbox import DeadLetter, Outbox
from device_agent.runtime import run_agent
from device_agent.simulate import (
    SimulatedHub,
    SimulationOptions,
    run_simulated_ble_hub,
    run_simulation,
)
from device_agent.uplink import UplinkAuthError

if TYPE_CHECKING:
    from device_agent.ble import ScanResult

EXIT_INTERRUPTED = 1
EXIT_CONFIG = 2
EXIT_AUTH = 3
EXIT_NO_BLE = 4
EXIT_NO_ADAPTER = 5
EXIT_STOP_TIMEOUT = 6
# After SIGTERM/SIGINT the agent gets this long to wind down before it exits regardless:
# a stop must never hang (a service manager, a test, an operator waits on it).
STOP_GRACE_S = 10.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eldercare-agent", description=__doc__.split("\n")[0])
    parser.add_argument("--log-level", default=None, choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the hub agent from agent.toml")
    run.add_argument("--config", type=Path, default=Path("agent.toml"))

    sim = commands.add_parser(
        "simulate",
        help="simulated hubs sending realistic events",
        description="Simulated hubs. By default events are made at the event level (no radio), "
        "for load; with --ble one hub runs the real BLE drivers against simulated peripherals.",
    )
    sim.add_argument(
        "--ble",
        action="store_true",
        help="one hub whose devices are simulated BLE peripherals (real drivers, no radio)",
    )
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
        "--exit-when-drained",
        action="store_true",
        help="exit once --count is sent and acked (or, any time, send SIGUSR1)",
    )
    sim.add_argument("--id-log", type=Path, default=None, help="append every stored event id")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--backoff-cap", type=float, default=30.0, metavar="S")

    outbox = commands.add_parser("outbox", help="how many events wait to be sent, and why")
    outbox.add_argument("--config", type=Path, default=Path("agent.toml"))

    scan = commands.add_parser("scan", help="list BLE devices nearby and the driver for each")
    scan.add_argument(
        "--timeout", type=float, default=None, help="seconds to listen (10; 2 when simulated)"
    )
    scan.add_argument(
        "--simulated", action="store_true", help="scan the simulated demo home instead of a radio"
    )
    scan.add_argument(
        "--toml", action="store_true", help="print [[devices]] entries for agent.toml as well"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "outbox":
            return _outbox(args)
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

        def give_up() -> None:
            if task.done():
                return
            print(
                f"eldercare-agent: still stopping after {STOP_GRACE_S:g} s; exiting anyway "
                "(every stored event is committed). Tasks still running:",
                file=sys.stderr,
            )
            for pending in asyncio.all_tasks(loop):
                pending.print_stack(limit=6, file=sys.stderr)
            sys.stderr.flush()
            os._exit(EXIT_STOP_TIMEOUT)

        def stop() -> None:
            task.cancel()
            loop.call_later(STOP_GRACE_S, give_up)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
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
    if config.simulate.ble:
        _until_signalled(run_simulated_ble_hub(config))
    else:
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
    if args.ble:
        return _simulate_ble(args)
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

    async def simulate() -> None:
        # SIGUSR1: stop making events and exit once everything made has been acknowledged.
        # SIGUSR2: every simulated hub's panic button is pressed now (a test of one moment).
        loop = asyncio.get_running_loop()
        options.drain = asyncio.Event()
        loop.add_signal_handler(signal.SIGUSR1, options.drain.set)
        presses: set[asyncio.Task[None]] = set()

        def press_all(hubs: list[SimulatedHub]) -> None:
            for hub in hubs:
                task = asyncio.ensure_future(hub.press())
                presses.add(task)
                task.add_done_callback(presses.discard)

        def started(hubs: list[SimulatedHub]) -> None:
            loop.add_signal_handler(signal.SIGUSR2, press_all, hubs)

        await run_simulation(options, on_started=started)

    try:
        _until_signalled(simulate())
    except UplinkAuthError as exc:
        print(f"eldercare-agent: {exc}", file=sys.stderr)
        return EXIT_AUTH
    return 0


def _outbox(args: argparse.Namespace) -> int:
    """Read the outbox of a hub (running or not): SQLite in WAL mode allows a reader."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"eldercare-agent: bad configuration:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not config.outbox_path.exists():
        print(f"no outbox yet at {config.outbox_path} (the agent has not run)")
        return 0

    async def read() -> tuple[int, int, list[DeadLetter]]:
        outbox = Outbox(config.outbox_path)
        try:
            return await outbox.depth(), await outbox.urgent_depth(), await outbox.dead_letters()
        finally:
            await outbox.close()

    depth, urgent, dead = asyncio.run(read())
    print(f"outbox {config.outbox_path}")
    print(f"waiting to be sent: {depth} event(s), of which urgent (panic, fall): {urgent}")
    print(f"refused by the server (kept, never re-sent): {len(dead)}")
    for letter in dead[-10:]:
        print(f"  {letter.id} {letter.kind}: {letter.reason}")
    return 0


def _simulate_ble(args: argparse.Namespace) -> int:
    if args.hubs != 1:
        print("eldercare-agent: --ble simulates one hub (leave out --hubs)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        config = parse_config(
            {
                "server_url": args.server,
                "token": args.token[0],
                "outbox_path": str(args.state_dir / "ble-hub" / "outbox.sqlite3"),
                "heartbeat_interval_s": max(1.0, args.heartbeat_interval),
                "hub_device": "sim-ble-hub",
                "uplink": {
                    "backoff_cap_s": args.backoff_cap,
                    "backoff_base_s": min(0.5, args.backoff_cap),
                },
            },
            source="simulate --ble",
        )
    except ConfigError as exc:
        print(f"eldercare-agent: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    _until_signalled(run_simulated_ble_hub(config, panic_every_s=args.panic_every))
    return 0


def _scan(args: argparse.Namespace) -> int:
    _logging(args.log_level or "WARNING")
    try:
        from device_agent.ble import scan
        from device_agent.ble.adapter import AdapterUnavailable, check_adapter, describe
    except ImportError as exc:
        print(
            f"eldercare-agent: BLE support is not installed ({exc}); "
            "install it with: pip install 'eldercare[agent]'",
            file=sys.stderr,
        )
        return EXIT_NO_BLE

    async def scan_simulated(listen_s: float) -> list[ScanResult]:
        from device_agent.sim import demo_home

        async with demo_home() as home:
            return await scan(timeout=listen_s, backend=home.backend)

    async def scan_radio(listen_s: float) -> list[ScanResult]:
        await check_adapter()
        return await scan(timeout=listen_s)

    try:
        if args.simulated:
            results = asyncio.run(scan_simulated(args.timeout or 2.0))
        else:
            results = asyncio.run(scan_radio(args.timeout or 10.0))
    except AdapterUnavailable as exc:
        print(f"eldercare-agent: cannot scan: {exc}", file=sys.stderr)
        return EXIT_NO_ADAPTER
    except OSError as exc:  # the adapter went away mid-scan
        print(f"eldercare-agent: cannot scan: {describe(exc)}", file=sys.stderr)
        return EXIT_NO_ADAPTER
    print(scan_table(results))
    if args.toml:
        print()
        print(devices_toml(results))
    return 0


def scan_table(results: Sequence[ScanResult]) -> str:
    if not results:
        return "no BLE devices found"
    lines = [f"{'address':<18} {'rssi':>5}  {'name':<20} {'driver':<18} kind"]
    for result in results:
        rssi = "" if result.rssi is None else str(result.rssi)
        lines.append(
            f"{result.address:<18} {rssi:>5}  {(result.name or '-')[:20]:<20} "
            f"{result.driver or '(none)':<18} {result.kind or '-'}"
        )
    return "\n".join(lines)


def devices_toml(results: Sequence[ScanResult]) -> str:
    """``[[devices]]`` entries for every device a driver takes, ready to edit into agent.toml."""
    blocks = []
    for result in results:
        if result.driver is None or result.kind is None:
            continue
        name = re.sub(r"[^a-z0-9]+", "-", (result.name or result.kind).lower()).strip("-")
        blocks.append(
            "[[devices]]\n"
            f'name = "{name or result.kind}"\n'
            f'kind = "{result.kind}"\n'
            f'address = "{result.address}"\n'
            f'driver = "{result.driver}"'
        )
    return "\n\n".join(blocks) if blocks else "# no device a driver takes"


if __name__ == "__main__":
    sys.exit(main())

"""What the soak watches: the server process and its database sampled on a fixed grid, a
verdict per series from its slope over the last half, a table and a plot."""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa

from bench._soak_load import Sizes

METRIC = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


@dataclass
class Sample:
    t: float  # seconds since the load started
    values: dict[str, float]


# --- the sampler ----------------------------------------------------------------------------


class Sampler:
    def __init__(self, pid: int, base: str, db_url: str) -> None:
        self.proc = psutil.Process(pid)
        self.base = base
        self.engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
        self.postgres = self.engine.dialect.name == "postgresql"

    def sample(self) -> dict[str, float]:
        values: dict[str, float] = {}
        with self.proc.oneshot():
            values["rss_mib"] = self.proc.memory_info().rss / 2**20
            values["fds"] = self.proc.num_fds()
            values["threads"] = self.proc.num_threads()
            cpu = self.proc.cpu_times()
            values["cpu_s"] = cpu.user + cpu.system
        values["sockets"] = len(self.proc.net_connections(kind="inet"))
        with self.engine.connect() as conn:
            if self.postgres:
                # Every backend on this database but this one: the server's pool, its
                # LISTEN connection, the agents' nothing (they speak HTTP).
                values["pg_backends"] = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            values["events_stored"] = conn.execute(
                sa.text("SELECT count(*) FROM agent_events")
            ).scalar_one()
        values.update(self.metrics())
        values["load1"] = os.getloadavg()[0]
        return values

    def metrics(self) -> dict[str, float]:
        try:
            text = httpx.get(self.base + "/metrics", timeout=5).text
        except httpx.HTTPError:
            return {}
        out: dict[str, float] = {"open_alerts": 0.0}
        wanted = {
            "eldercare_readings_queue_depth": "readings_queue",
            "eldercare_timers_overdue": "timers_overdue",
            "eldercare_console_sockets": "console_sockets",
            "eldercare_console_queue_depth": "console_queue",
            "eldercare_hub_sockets": "hub_sockets",
        }
        for line in text.splitlines():
            m = METRIC.match(line)
            if not m:
                continue
            name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
            if name in wanted:
                out[wanted[name]] = value
            elif name == "eldercare_open_alerts":
                out["open_alerts"] += value
            elif name == "eldercare_db_pool_connections" and 'state="checkedout"' in labels:
                out["pool_checked_out"] = value
        return out


# --- the verdict ----------------------------------------------------------------------------

# The series that must stay flat; the others (CPU time, events stored, load) only inform.
FLAT = (
    "rss_mib", "fds", "sockets", "threads", "pg_backends", "readings_queue", "timers_overdue",
    "open_alerts", "console_sockets", "console_queue", "hub_sockets", "pool_checked_out",
)  # fmt: skip


def slope_per_hour(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope and its standard error, per hour."""
    if len(points) < 3:
        return 0.0, 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    if den == 0:
        return 0.0, 0.0
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den
    residuals = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(xs, ys, strict=True))
    stderr = (residuals / (len(points) - 2) / den) ** 0.5
    return slope * 3600, stderr * 3600


@dataclass
class Verdict:
    name: str
    start: float
    middle: float
    end: float
    slope: float  # per hour, over the last half
    stderr: float  # of the slope: a queue that swings from sample to sample has a wide one
    limit: float
    flat: bool


def verdicts(samples: list[Sample], rss_mib_per_hour: float) -> list[Verdict]:
    out: list[Verdict] = []
    if not samples:
        return out
    half = samples[len(samples) // 2 :]
    names = [n for n in FLAT if any(n in s.values for s in samples)]
    names += [n for n in ("cpu_s", "events_stored", "load1") if any(n in s.values for s in samples)]
    for name in names:
        series = [(s.t, s.values[name]) for s in samples if name in s.values]
        late = [(s.t, s.values[name]) for s in half if name in s.values]
        slope, stderr = slope_per_hour(late)
        if name == "rss_mib":
            limit = rss_mib_per_hour
        else:
            limit = max(5.0, 0.1 * statistics.median(v for _, v in late)) if late else 5.0
        # Growing only where the slope is above the limit beyond its noise (two standard
        # errors): a queue that swings between 0 and 40 from sample to sample is not a leak,
        # and RSS, which moves smoothly, is judged on its trend all the same.
        flat = name not in FLAT or slope - 2 * stderr <= limit
        out.append(Verdict(name, series[0][1], series[len(series) // 2][1], series[-1][1],
                           slope, stderr, limit, flat))  # fmt: skip
    return out


def table(found: list[Verdict]) -> str:
    lines = [f"  {'series':<17} {'start':>9} {'middle':>9} {'end':>9} {'slope/h (last half)':>20}"
             f" {'2 SE':>8} {'limit/h':>9}  verdict"]  # fmt: skip
    for v in found:
        verdict = "FLAT" if v.flat else "GROWING"
        if v.name not in FLAT:
            verdict = "(grows by design)" if v.name != "load1" else "(machine)"
        lines.append(f"  {v.name:<17} {v.start:>9.1f} {v.middle:>9.1f} {v.end:>9.1f} "
                     f"{v.slope:>20.1f} {2 * v.stderr:>8.1f} {v.limit:>9.1f}  {verdict}")  # fmt: skip
    return "\n".join(lines)


def plot(samples: list[Sample], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: list[tuple[str, list[str]]] = [
        ("server RSS (MiB)", ["rss_mib"]),
        ("file descriptors, sockets, threads", ["fds", "sockets", "threads"]),
        ("database connections", ["pg_backends", "pool_checked_out"]),
        ("WebSockets", ["console_sockets", "hub_sockets"]),
        ("queues", ["readings_queue", "console_queue", "timers_overdue", "open_alerts"]),
        ("machine load (1 min)", ["load1"]),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.2 * len(panels)), sharex=True)
    for ax, (label, names) in zip(axes, panels, strict=True):
        for name in names:
            points = [(s.t / 60, s.values[name]) for s in samples if name in s.values]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], label=name)
        ax.set_ylabel(label, fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel("minutes")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def wait_connected(sampler: Sampler, sizes: Sizes, *, within: float) -> str:
    """Warm-up: until every hub and console is connected (or ``within`` seconds), so the
    samples measure the load, not the people arriving."""
    deadline = time.monotonic() + within
    seen: dict[str, float] = {}
    while time.monotonic() < deadline:
        seen = sampler.metrics()
        if (
            seen.get("hub_sockets", 0) >= sizes.hubs
            and seen.get("console_sockets", 0) >= sizes.consoles
        ):
            break
        time.sleep(1.0)
    return (
        f"{seen.get('hub_sockets', 0):.0f} of {sizes.hubs} hubs, "
        f"{seen.get('console_sockets', 0):.0f} of {sizes.consoles} consoles"
    )


def sample_until(
    sampler: Sampler, sizes: Sizes, say: Callable[[str], None], samples: list[Sample]
) -> None:
    """Samples into ``samples`` until ``sizes.minutes`` have passed; the caller keeps what
    was sampled if the run is stopped early."""
    started = time.monotonic()
    end = started + sizes.minutes * 60
    while True:
        values = sampler.sample()
        samples.append(Sample(time.monotonic() - started, values))
        nan = float("nan")
        say(
            f"{samples[-1].t / 60:5.1f} min  RSS {values['rss_mib']:.0f} MiB  "
            f"fds {values['fds']:.0f}  sockets {values['sockets']:.0f}  "
            f"pg {values.get('pg_backends', nan):.0f}  "
            f"readings queue {values.get('readings_queue', nan):.0f}  "
            f"open alerts {values.get('open_alerts', nan):.0f}  "
            f"consoles {values.get('console_sockets', nan):.0f} "
            f"(queued {values.get('console_queue', nan):.0f})  "
            f"hubs {values.get('hub_sockets', nan):.0f}  load {values['load1']:.1f}"
        )
        # On a fixed grid: a slow sample does not shift the ones after it.
        next_at = started + len(samples) * sizes.interval_s
        while next_at < time.monotonic():
            next_at += sizes.interval_s
        if next_at > end:
            return
        time.sleep(next_at - time.monotonic())

"""Hostile BLE bytes: random and mutated payloads through every GATT parser and driver payload
function; anything but ParseError escaping is a bug.

    .venv/bin/python -m bench.fuzz_ble [--count 1000000] [--seed 1]

Payloads are dealt to the targets in turn (tests/support/ble_fuzz.py lists them and the real
vectors the mutations start from). Prints payloads, rate, per-target counts of ParseError and
accepted payloads, every other exception with a reproducing hex string, and the machine line.
Exits 1 if any other exception escaped.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time

from bench._common import machine_line
from device_agent.gatt import ParseError
from tests.support.ble_fuzz import TARGETS, payload


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    refused: collections.Counter[str] = collections.Counter()
    accepted: collections.Counter[str] = collections.Counter()
    escaped: dict[tuple[str, str], tuple[int, str]] = {}
    started = time.perf_counter()
    for n in range(args.count):
        target = TARGETS[n % len(TARGETS)]
        data = payload(rng, target)
        try:
            target.call(data)
        except ParseError:
            refused[target.name] += 1
        except Exception as exc:  # the finding: report it, keep going
            key = (target.name, f"{type(exc).__name__}: {str(exc)[:120]}")
            count, sample = escaped.get(key, (0, data.hex()))
            escaped[key] = (count + 1, sample)
        else:
            accepted[target.name] += 1
    elapsed = time.perf_counter() - started
    print(f"{'target':<50} {'accepted':>9} {'ParseError':>11}")
    for target in TARGETS:
        print(f"{target.name:<50} {accepted[target.name]:>9} {refused[target.name]:>11}")
    others = sum(count for count, _ in escaped.values())
    print(
        f"payloads: {args.count:,} in {elapsed:.1f} s ({args.count / elapsed:,.0f}/s); "
        f"targets: {len(TARGETS)}; exceptions other than ParseError: {others}"
    )
    for (name, what), (count, sample) in sorted(escaped.items()):
        print(f"  {name}: {what} ×{count}; e.g. {sample}")
    print(machine_line())
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())

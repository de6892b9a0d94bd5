"""Hostile bytes through every GATT parser and driver payload function: ParseError or a result,
never another exception. The bench (bench/fuzz_ble.py) runs a million; this keeps a few
thousand in every test run."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_agent.gatt import ParseError
from device_agent.gatt.vendor import berrymed
from tests.support.ble_fuzz import TARGETS, VECTORS, Target, mutate

IDS = [t.name for t in TARGETS]


def _only_parse_errors(target: Target, data: bytes) -> None:
    with contextlib.suppress(ParseError):
        target.call(data)


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=48))
def test_random_bytes(target: Target, data: bytes) -> None:
    _only_parse_errors(target, data)


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_vectors(target: Target, seed: int) -> None:
    rng = random.Random(seed)
    for vector in VECTORS[target.seeds]:
        _only_parse_errors(target, mutate(rng, vector))


def test_every_vector_is_real() -> None:
    """The seeds are the parsers' own published vectors: most of them parse as they are."""
    parsed = 0
    for target in TARGETS:
        for vector in VECTORS[target.seeds]:
            try:
                target.call(vector)
                parsed += 1
            except ParseError:
                pass
    assert parsed > len(TARGETS)


@pytest.mark.parametrize(
    "raw", [b"", b"\xc6\x32\x45\x0c", b"\xc6\x32\x45\x0c\x61\x00", b"\x46\x32\x45\x0c\x61"]
)
def test_a_berrymed_frame_of_the_wrong_size_or_without_sync_is_a_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError, match="BerryMed frame"):
        berrymed.decode_frame(raw)

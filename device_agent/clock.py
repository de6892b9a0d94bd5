"""Two clocks per reading: the device's own (kept, not trusted) and the hub's receive time.

A reading's ``occurred_at`` is always the hub's receive time in UTC: blood-pressure cuffs and
oximeters are often never set, reset to 2000-01-01 after a battery change, or drift by hours.
The device's time is kept in the payload and flagged when it is unset or far off.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from uuid import uuid4
from zoneinfo import ZoneInfo

from eldercare_protocol import Measurement, VitalsEvent, VitalsPayload

# Devices keep local wall time without a zone; Thai homes are in Asia/Bangkok.
DEFAULT_DEVICE_TZ = ZoneInfo("Asia/Bangkok")
DEFAULT_MAX_SKEW = timedelta(minutes=10)
# Anything earlier is a factory default or a reset clock, not a real reading time.
EARLIEST_PLAUSIBLE = datetime(2020, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def device_clock_suspect(
    device_time: datetime | None,
    *,
    hub_time: datetime,
    clock_not_set: bool = False,
    device_tz: tzinfo = DEFAULT_DEVICE_TZ,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> bool:
    """True when the device says its clock is unset, or its time is implausible or far off.

    ``device_time`` without a zone is read as the device's local wall time (``device_tz``).
    A device that reports no time at all makes no claim, so it is not suspect.
    """
    if hub_time.tzinfo is None:
        raise ValueError("hub_time must be timezone-aware")
    if clock_not_set:
        return True
    if device_time is None:
        return False
    aware = device_time if device_time.tzinfo is not None else device_time.replace(tzinfo=device_tz)
    if aware < EARLIEST_PLAUSIBLE:
        return True
    return abs(aware - hub_time) > max_skew


def vitals_event(
    *,
    device: str,
    measurements: list[Measurement],
    received_at: datetime | None = None,
    device_time: datetime | None = None,
    clock_not_set: bool = False,
    characteristic: str | None = None,
    raw_hex: str | None = None,
    flags: dict[str, bool | int | str] | None = None,
    sequence_number: int | None = None,
    device_tz: tzinfo = DEFAULT_DEVICE_TZ,
) -> VitalsEvent:
    """A reading stamped with both clocks: ``occurred_at`` is the hub's receive time."""
    hub_time = received_at if received_at is not None else utc_now()
    return VitalsEvent(
        id=uuid4(),
        device=device,
        occurred_at=hub_time.astimezone(UTC),
        payload=VitalsPayload(
            measurements=measurements,
            device_time=device_time,
            device_clock_suspect=device_clock_suspect(
                device_time, hub_time=hub_time, clock_not_set=clock_not_set, device_tz=device_tz
            ),
            characteristic=characteristic,
            raw_hex=raw_hex,
            flags=flags or {},
            sequence_number=sequence_number,
        ),
    )

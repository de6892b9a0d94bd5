"""Who sent a text (a registered device) and which emergency it reports."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from eldercare_protocol import Event, FallEvent, FallPayload, PanicEvent, PanicPayload
from server.devices.models import Device
from server.inbound_sms.models import DevicePhone

# What a hub's modem sends (device_agent.cellular.sms_text).
HUB_TEXT = re.compile(
    r"^\s*ELDERCARE\s+(PANIC|FALL)\s+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"\s+(\S+)(\s+TEST)?\s*$",
    re.IGNORECASE,
)
# What a plain GSM pendant sends when pressed (its other texts, e.g. battery, are ignored).
SOS = re.compile(r"\bSOS\b", re.IGNORECASE)
# A pendant's text has no event id: one is made from Twilio's message id, so a webhook
# delivered twice is one event.
_MESSAGE_IDS = uuid.UUID("6f0c4f0e-8d4b-4a43-9f59-3c6f1d2a7e10")


class PhoneNumberError(ValueError):
    pass


def normalise_phone(raw: str) -> str:
    """E.164 for a number as written in Thailand: 081-234-5678 → +66812345678."""
    number = re.sub(r"[\s\-().]", "", raw or "")
    if number.startswith("+"):
        digits = number[1:]
    elif number.startswith("00"):
        digits = number[2:]
    elif number.startswith("0"):
        digits = "66" + number[1:]
    else:
        digits = number
    if not digits.isdigit() or not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise PhoneNumberError(f"not a phone number: {raw!r}")
    return "+" + digits


@dataclass(frozen=True)
class Sender:
    device_id: uuid.UUID
    elder_id: uuid.UUID


def find_sender(session: Session, *, phone: str) -> Sender | None:
    """The active device, assigned to an elder, that this number is registered to."""
    row = session.exec(
        select(Device.id, Device.elder_id)
        .join(DevicePhone, col(DevicePhone.device_id) == col(Device.id))
        .where(col(DevicePhone.phone) == phone, col(Device.active).is_(True))
    ).first()
    if row is None or row[1] is None:
        return None
    return Sender(device_id=row[0], elder_id=row[1])


def register_phone(session: Session, *, device_id: uuid.UUID, phone: str) -> DevicePhone:
    """Gives a device (a hub's SIM, a GSM pendant) its number; replaces its old one."""
    number = normalise_phone(phone)
    if session.get(Device, device_id) is None:
        raise LookupError(f"no device {device_id}")
    taken = session.get(DevicePhone, number)
    if taken is not None and taken.device_id != device_id:
        raise PhoneNumberError(f"{number} is already registered to device {taken.device_id}")
    for old in session.exec(select(DevicePhone).where(col(DevicePhone.device_id) == device_id)):
        if old.phone != number:
            session.delete(old)
    session.flush()
    if taken is None:
        taken = DevicePhone(phone=number, device_id=device_id)
        session.add(taken)
        session.flush()
    return taken


def event_from_text(body: str, *, message_sid: str, received_at: datetime) -> Event | None:
    """The emergency a text reports, or None for a text that reports none."""
    found = HUB_TEXT.match(body or "")
    if found is not None:
        kind, event_id, at, test = found.groups()
        occurred_at = _when(at, received_at)
        if kind.upper() == "FALL":
            return FallEvent(
                id=uuid.UUID(event_id), device="sms", occurred_at=occurred_at,
                payload=FallPayload(source="sms"),
            )  # fmt: skip
        return PanicEvent(
            id=uuid.UUID(event_id), device="sms", occurred_at=occurred_at,
            payload=PanicPayload(source="sms", test=test is not None),
        )  # fmt: skip
    if SOS.search(body or "") and message_sid:
        return PanicEvent(
            id=uuid.uuid5(_MESSAGE_IDS, message_sid), device="sms", occurred_at=received_at,
            payload=PanicPayload(source="sms"),
        )  # fmt: skip
    return None


def _when(text: str, fallback: datetime) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # A hub clock far off is not trusted over the moment the text arrived.
    if abs((value - fallback).total_seconds()) > 24 * 3600:
        return fallback
    return value

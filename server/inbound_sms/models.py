"""Which device a phone number belongs to: a hub's SIM, or a GSM pendant's."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime


class DevicePhone(SQLModel, table=True):
    __tablename__ = "device_phones"

    # E.164 (+66812345678): what Twilio puts in From.
    phone: str = Field(primary_key=True, max_length=16)
    device_id: uuid.UUID = Field(foreign_key="devices.id", unique=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

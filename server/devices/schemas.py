"""API shapes of devices and hub tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from server.devices.models import DeviceKind


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: DeviceKind
    label: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    ble_address: str | None = Field(default=None, max_length=64)


class DeviceOut(DeviceIn):
    model_config = ConfigDict(extra="ignore")
    id: uuid.UUID
    elder_id: uuid.UUID | None
    active: bool
    last_seen_at: datetime | None = None
    battery: int | None = None


class HubTokenOut(BaseModel):
    id: uuid.UUID
    device_id: uuid.UUID
    prefix: str
    token: str = Field(description="Shown once; only its hash is stored")

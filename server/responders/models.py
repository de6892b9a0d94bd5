"""A responder's link for one dispatch: its stages, stamped by the person who is there."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime


class Stage(StrEnum):
    ON_MY_WAY = "on_my_way"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    HANDED_OVER = "handed_over"


STAGES = tuple(Stage)


class ResponderLink(SQLModel, table=True):
    __tablename__ = "responder_links"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Only the SHA-256 of the token in the SMS is kept.
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    alert_id: uuid.UUID = Field(foreign_key="alerts.id", index=True)
    responder_id: uuid.UUID = Field(foreign_key="responders.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    on_my_way_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    on_scene_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    transporting_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    handed_over_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the last stage is done or a new dispatch replaces it: the link is spent.
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

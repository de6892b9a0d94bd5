"""Small builders for test data (valid Thai national IDs, elders with sensible defaults)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from typing import Any

from sqlmodel import Session

from server.common import thai_id as national_id
from server.elders.models import Elder, EmergencyContact, Sex

_counter = itertools.count(1)


def thai_id(n: int | None = None) -> str:
    return national_id.with_check_digit(f"1{(n if n is not None else next(_counter)):011d}")


def elder_payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "national_id": thai_id(),
        "first_name": "สมศรี",
        "last_name": "ใจดี",
        "birth_date": "1948-03-01",
        "sex": "female",
        "address": "12 หมู่ 3",
        "community": "ชุมชนบ้านเหมือง",
        "lives_alone": True,
        "has_carer": False,
        "chronic_conditions": ["ความดันโลหิตสูง"],
        "medications": "Amlodipine 5 mg",
        "adl_score": 10,
        "emergency_contacts": [{"name": "สมใจ ใจดี", "relation": "ลูกสาว", "phone": "0812345678"}],
    }
    data.update(overrides)
    return data


def make_elder(session: Session, **overrides: Any) -> Elder:
    values: dict[str, Any] = {
        "national_id": thai_id(),
        "first_name": "บุญมา",
        "last_name": "ศรีสุข",
        "birth_date": date(1945, 5, 5),
        "sex": Sex.FEMALE,
        "address": "99 หมู่ 1",
        "community": "ชุมชนหาดวอนนภา",
        "lives_alone": True,
        "has_carer": False,
        "chronic_conditions": ["เบาหวาน"],
        "medications": "Metformin",
        "allergies": "Penicillin",
        "adl_score": 8,
    }
    values.update(overrides)
    elder = Elder(**values)
    session.add(elder)
    session.flush()
    session.add(EmergencyContact(elder_id=elder.id, name="ญาติ", relation="ลูก", phone="0899999999"))
    session.commit()
    return elder


def new_id() -> uuid.UUID:
    return uuid.uuid4()

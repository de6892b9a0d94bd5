"""A small demo round: registration over, applicants scored and ranked, waiting for the committee."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlmodel import Session, col, select

from server.auth.models import Role, User
from server.common import thai_id
from server.common.time import utcnow
from server.elders.models import Elder, ElderStatus, Sex
from server.eligibility import rounds, rubrics, service
from server.eligibility.models import Round
from server.eligibility.schemas import ApplicationCreate, NewApplicant, RoundCreate

DEMO_CODE = "DEMO2570"
FIRST = ["สมศรี", "บุญมา", "ประไพ", "มาลี", "จำปี", "ทองใบ", "สมชาย", "บุญเลิศ", "ประเสริฐ", "มานพ",
         "สุวิทย์", "เฉลิม", "ลำดวน", "วันเพ็ญ", "ศรีนวล", "ไพโรจน์", "อุดม", "เสนาะ"]  # fmt: skip
LAST = ["ใจดี", "ศรีสุข", "มีสุข", "บุญมี", "แก้วมณี", "ทองคำ", "พึ่งบุญ", "สุขสวัสดิ์", "รักษาศรี",
        "วงศ์ใหญ่", "ปานทอง", "เพชรรัตน์"]  # fmt: skip
COMMUNITIES = ["ชุมชนบ้านเหมือง", "ชุมชนหาดวอนนภา", "ชุมชนมาบมะยม", "ชุมชนแหลมแท่น"]


def _national_id(rng: random.Random) -> str:
    digits = ["5", *(str(rng.randrange(10)) for _ in range(11))]
    return thai_id.with_check_digit("".join(digits))


def _answers(rng: random.Random) -> dict[str, str | int | float | None]:
    return {
        "living": rng.choice(["alone_no_carer", "alone_no_carer", "alone_occasional_help",
                              "with_dependent_elder", "alone_daytime", "with_carer"]),
        "adl": rng.choice([3, 6, 8, 10, 11, 13, 15, 18, 20]),
        "falls": rng.choice([0, 0, 1, 1, 2, 3]),
        "chronic": rng.choice(["none", "one_controlled", "multiple", "uncontrolled"]),
        "access": rng.choice(["easy", "difficult", "difficult", "very_difficult"]),
        "income": rng.choice(["welfare_card", "welfare_card", "low_income", "sufficient"]),
        "distance_km": round(rng.uniform(0.5, 14), 1),
        "emergencies": rng.choice([0, 0, 0, 1, 2]),
    }  # fmt: skip


def seed_demo_round(
    session: Session,
    *,
    issuer: str = "เทศบาลเมืองบ้านสวนสุข",
    applicants: int = 40,
    devices: int = 12,
    seed: int = 2570,
) -> Round | None:
    """Adds the demo round once (needs the demo's `admin` and `committee` users)."""
    if session.exec(select(Round).where(Round.code == DEMO_CODE)).first():
        return None
    admin = session.exec(select(User).where(User.role == Role.ADMIN)).first()
    chair = session.exec(select(User).where(User.role == Role.COMMITTEE)).first()
    if admin is None or chair is None:
        return None
    rng = random.Random(seed)
    rubric = rubrics.ensure_default_rubric(session, user=admin)
    opens = utcnow() - timedelta(days=35)
    round_ = rounds.create_round(
        session,
        user=admin,
        data=RoundCreate(
            title="โครงการติดตั้งปุ่มขอความช่วยเหลือฉุกเฉินสำหรับผู้สูงอายุ ปีงบประมาณ 2570",
            issuer=issuer,
            code=DEMO_CODE,
            rubric_id=rubric.id,
            devices=devices,
            opens_at=opens,
            closes_at=opens + timedelta(days=30),
            chair_id=chair.id,
        ),
        request_id=None,
    )
    rounds.open_round(session, user=admin, round_id=round_.id, request_id=None)
    registered = session.exec(
        select(Elder).where(Elder.status == ElderStatus.APPLICANT).order_by(col(Elder.created_at))
    ).all()
    today = date.today()
    for index in range(applicants):
        at = opens + timedelta(hours=6 + index * 17, minutes=rng.randrange(60))
        if index < len(registered):
            body = ApplicationCreate(elder_id=registered[index].id, answers=_answers(rng))
        else:
            age = rng.randint(62, 92)
            body = ApplicationCreate(
                person=NewApplicant(
                    national_id=_national_id(rng),
                    title=rng.choice(["นาง", "นาย", "นางสาว"]),
                    first_name=rng.choice(FIRST),
                    last_name=rng.choice(LAST),
                    birth_date=today.replace(year=today.year - age)
                    - timedelta(days=rng.randrange(300)),
                    sex=rng.choice([Sex.FEMALE, Sex.MALE]),
                    address=f"{rng.randint(1, 150)}/{rng.randint(1, 30)} หมู่ {rng.randint(1, 9)}",
                    community=rng.choice(COMMUNITIES),
                ),
                answers=_answers(rng),
                evidence_notes="แบบประเมินจากการเยี่ยมบ้านโดย อสม.",
            )
        service.submit_application(
            session, user=admin, round_id=round_.id, data=body, request_id=None, now=at
        )
    rounds.close_round(session, user=admin, round_id=round_.id, request_id=None)
    rounds.rank_round(session, user=admin, round_id=round_.id, seed="demo-2570", request_id=None)
    return round_

"""Realistic demo data: one municipality, its staff (one login per role) and 36 elders.

Deterministic (seeded), so screenshots and walkthroughs match from one run to the next.
Refuses to run in production.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, func, select

from server.auth.models import Role, User
from server.auth.service import create_user
from server.care.models import ConsultUrgency
from server.care.schemas import ConsultCreate
from server.common import thai_id
from server.common.time import utcnow
from server.config import Settings
from server.devices.demo import ensure_demo_hubs
from server.devices.models import Device, DeviceKind
from server.elders.models import Consent, Elder, ElderStatus, EmergencyContact, Mobility, Sex
from server.eligibility.demo import seed_demo_round
from server.telehealth.consults import create_consult

DEMO_PASSWORD = "demo1234"
MUNICIPALITY = "เทศบาลเมืองบ้านสวนสุข"
# Communities with a rough centre (lat, lon) around a Chonburi-like coastal town.
COMMUNITIES = {
    "ชุมชนบ้านเหมือง": (13.2981, 100.9102),
    "ชุมชนหาดวอนนภา": (13.3025, 100.9041),
    "ชุมชนมาบมะยม": (13.2902, 100.9187),
    "ชุมชนแหลมแท่น": (13.2875, 100.9012),
    "ชุมชนบ้านเก่า": (13.2950, 100.9230),
    "ชุมชนดอนบน": (13.3068, 100.9155),
}
FEMALE = ["สมศรี", "บุญมา", "ประไพ", "สายสุนีย์", "มาลี", "จำปี", "ทองใบ", "ละเอียด", "บัวผัน",
          "สมจิตร", "อำไพ", "พิมพา", "ลำดวน", "วันเพ็ญ", "สุดใจ", "ศรีนวล", "คำปุน", "นงเยาว์"]  # fmt: skip
MALE = ["สมชาย", "บุญเลิศ", "ประเสริฐ", "สมบัติ", "ทองดี", "มานพ", "สุวิทย์", "เฉลิม", "วิชัย",
        "ประยูร", "สำราญ", "จรูญ", "บุญส่ง", "สมหมาย", "ไพโรจน์", "อุดม", "ชาญ", "เสนาะ"]  # fmt: skip
SURNAMES = ["ใจดี", "ศรีสุข", "มีสุข", "บุญมี", "แก้วมณี", "ทองคำ", "พึ่งบุญ", "สุขสวัสดิ์",
            "รักษาศรี", "วงศ์ใหญ่", "จันทร์เพ็ญ", "ปานทอง", "เพชรรัตน์", "ศรีวงศ์", "นาคสวัสดิ์",
            "อินทร์แก้ว", "บุญประเสริฐ", "ชัยมงคล"]  # fmt: skip
CONDITIONS = ["ความดันโลหิตสูง", "เบาหวาน", "โรคหัวใจ", "โรคปอดอุดกั้นเรื้อรัง (COPD)",
              "โรคไตเรื้อรัง", "ข้อเข่าเสื่อม", "อัมพฤกษ์หลังโรคหลอดเลือดสมอง", "ต้อกระจก"]  # fmt: skip
MEDICATIONS = {
    "ความดันโลหิตสูง": "Amlodipine 5 mg เช้า",
    "เบาหวาน": "Metformin 500 mg เช้า-เย็น",
    "โรคหัวใจ": "Aspirin 81 mg เช้า",
    "โรคปอดอุดกั้นเรื้อรัง (COPD)": "ยาพ่น Salbutamol เมื่อหอบ",
    "โรคไตเรื้อรัง": "Calcium carbonate หลังอาหาร",
}
RELATIONS = ["ลูกสาว", "ลูกชาย", "หลาน", "เพื่อนบ้าน", "น้องสาว", "ผู้ใหญ่บ้าน"]
ACCESS = ["กุญแจสำรองอยู่ใต้กระถางต้นไม้หน้าบ้าน", "ประตูรั้วสีเขียว ไม่ได้ล็อก",
          "มีสุนัขที่บ้าน ให้เรียกเพื่อนบ้านข้างๆ ช่วย", "ผู้ใหญ่บ้านมีกุญแจสำรอง โทรก่อนเข้า",
          None, None]  # fmt: skip


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: Role


DEMO_USERS = [
    DemoUser("admin", "ผู้ดูแลระบบ เทศบาล", Role.ADMIN),
    DemoUser("supervisor", "วิไลวรรณ หัวหน้าเวร", Role.SUPERVISOR),
    DemoUser("dispatcher", "ณัฐพล รับแจ้งเหตุ", Role.DISPATCHER),
    DemoUser("dispatcher2", "ปิยะพงษ์ สั่งการ", Role.DISPATCHER),
    DemoUser("care_manager", "พยาบาลสุภาวดี ผู้จัดการการดูแล", Role.CARE_MANAGER),
    DemoUser("caregiver", "รัตนา ผู้ดูแล", Role.CAREGIVER),
    DemoUser("caregiver2", "กมลทิพย์ ผู้ดูแล", Role.CAREGIVER),
    DemoUser("caregiver3", "ศิริพร ผู้ดูแล", Role.CAREGIVER),
    DemoUser("volunteer", "สมพร อสม.", Role.VOLUNTEER),
    DemoUser("volunteer2", "ประภา อสม.", Role.VOLUNTEER),
    DemoUser("volunteer3", "บุญชู อสม.", Role.VOLUNTEER),
    DemoUser("clinician", "นพ.ธนากร สหวิชาชีพ", Role.CLINICIAN),
    DemoUser("committee", "กรรมการ สมเกียรติ", Role.COMMITTEE),
]


class SeedRefused(RuntimeError):
    pass


def thai_national_id(rng: random.Random) -> str:
    digits = [rng.choice("3"), *(str(rng.randrange(10)) for _ in range(11))]
    return thai_id.with_check_digit("".join(digits))


def is_seeded(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(User)).one() > 0


# Questions caregivers have asked the telehealth clinician: one within its time, one waiting
# past it (the care manager's follow-ups list shows it), one routine.
DEMO_CONSULTS = [
    ("ความดันตัวบนเกิน 160 สามวันติด กินยาครบทุกมื้อ ควรปรับยาหรือไม่", ConsultUrgency.SOON, 2),
    ("เท้าบวมทั้งสองข้างมาสองสัปดาห์ ไม่เหนื่อย ไม่เจ็บหน้าอก", ConsultUrgency.SOON, 30),
    ("น้ำตาลก่อนอาหารเช้า 140-150 ทุกวัน ขอคำแนะนำเรื่องอาหาร", ConsultUrgency.ROUTINE, 20),
]


def _seed_consults(session: Session, *, caregivers: list[User], rng: random.Random) -> None:
    enrolled = session.exec(
        select(Elder).where(Elder.status == ElderStatus.ENROLLED).order_by(Elder.national_id)
    ).all()
    candidates = [e for e in enrolled if e.chronic_conditions]
    asked = rng.sample(candidates, k=min(len(candidates), len(DEMO_CONSULTS)))
    for elder, (question, urgency, hours_ago) in zip(asked, DEMO_CONSULTS, strict=False):
        asker = next(c for c in caregivers if c.id == elder.caregiver_id)
        consult, _ = create_consult(
            session, user=asker,
            data=ConsultCreate(elder_id=elder.id, question=question, urgency=urgency),
            request_id=None,
        )  # fmt: skip
        consult.created_at = consult.updated_at = utcnow() - timedelta(hours=hours_ago)


def seed_demo(session: Session, *, settings: Settings, elders: int = 36, seed: int = 2569) -> None:
    if settings.env == "production":
        raise SeedRefused("demo data is never seeded when ELDERCARE_ENV=production")
    if is_seeded(session):
        return
    rng = random.Random(seed)
    users = {
        u.username: create_user(
            session, username=u.username, password=DEMO_PASSWORD, full_name=u.full_name,
            role=u.role,
        )
        for u in DEMO_USERS
    }  # fmt: skip
    caregivers = [u for u in users.values() if u.role == Role.CAREGIVER]
    volunteers = [u for u in users.values() if u.role == Role.VOLUNTEER]
    today = date.today()
    for index in range(elders):
        sex = Sex.FEMALE if index % 5 not in (1, 3) else Sex.MALE
        first = rng.choice(FEMALE if sex == Sex.FEMALE else MALE)
        community, (lat, lon) = list(COMMUNITIES.items())[index % len(COMMUNITIES)]
        age = rng.randint(62, 94)
        adl = rng.choice([3, 4, 7, 9, 10, 12, 14, 16, 18, 19, 20, 20])
        conditions = rng.sample(CONDITIONS, k=rng.choice([0, 1, 1, 2, 2, 3]))
        lives_alone = rng.random() < 0.4
        mobility = (
            Mobility.BEDRIDDEN if adl <= 4
            else Mobility.WHEELCHAIR if adl <= 8
            else Mobility.WALKS_WITH_AID if adl <= 14
            else Mobility.INDEPENDENT
        )  # fmt: skip
        elder = Elder(
            national_id=thai_national_id(rng),
            title="นาง" if sex == Sex.FEMALE else "นาย",
            first_name=first,
            last_name=rng.choice(SURNAMES),
            birth_date=today.replace(year=today.year - age) - timedelta(days=rng.randint(1, 360)),
            sex=sex,
            phone=f"08{rng.randint(10000000, 99999999)}",
            address=f"{rng.randint(1, 199)}/{rng.randint(1, 40)} หมู่ {index % 9 + 1}",
            community=community,
            latitude=round(lat + rng.uniform(-0.004, 0.004), 6),
            longitude=round(lon + rng.uniform(-0.004, 0.004), 6),
            access_notes=rng.choice(ACCESS),
            lives_alone=lives_alone,
            has_carer=not lives_alone or rng.random() < 0.3,
            mobility=mobility,
            fall_risk=adl <= 14 or rng.random() < 0.2,
            falls_past_year=rng.choice([0, 0, 0, 1, 1, 2, 3]),
            chronic_conditions=conditions,
            medications="; ".join(MEDICATIONS[c] for c in conditions if c in MEDICATIONS) or None,
            allergies=rng.choice([None, None, None, "แพ้ยา Penicillin", "แพ้อาหารทะเล"]),
            adl_score=adl,
            status=ElderStatus.ENROLLED if index < elders - 4 else ElderStatus.APPLICANT,
            caregiver_id=caregivers[index % len(caregivers)].id,
            care_manager_id=users["care_manager"].id,
            volunteer_id=volunteers[index % len(volunteers)].id,
        )
        session.add(elder)
        session.flush()
        for position in range(rng.choice([1, 1, 2])):
            session.add(
                EmergencyContact(
                    elder_id=elder.id,
                    name=f"{rng.choice([n for n in FEMALE + MALE if n != first])} {elder.last_name}",
                    relation=rng.choice(RELATIONS),
                    phone=f"08{rng.randint(10000000, 99999999)}",
                    notify_on_alerts=position == 0,
                    position=position,
                )
            )
        session.add(
            Consent(
                elder_id=elder.id,
                given_on=today - timedelta(days=rng.randint(30, 400)),
                scope=["care", "emergency", "telehealth"],
                recorded_by=users["care_manager"].id,
            )
        )
        if elder.status == ElderStatus.ENROLLED:
            session.add(Device(elder_id=elder.id, kind=DeviceKind.HUB, model="Raspberry Pi 4"))
            session.add(
                Device(
                    elder_id=elder.id,
                    kind=DeviceKind.PANIC_BUTTON,
                    model="Shelly BLU Button1",
                    ble_address=f"3C:2E:F5:{rng.randint(0, 255):02X}:{rng.randint(0, 255):02X}:{index:02X}",
                )
            )
            if conditions:
                session.add(
                    Device(elder_id=elder.id, kind=DeviceKind.BP_MONITOR, model="Omron HEM-7142T1")
                )
    session.flush()
    _seed_consults(session, caregivers=caregivers, rng=rng)
    session.commit()
    seed_demo_round(session, issuer=MUNICIPALITY)
    ensure_demo_hubs(session, settings=settings)  # the demo simulator feeds these hubs
    session.commit()

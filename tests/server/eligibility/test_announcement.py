"""The public notice: masked names, a Thai PDF with Buddhist Era dates, and a clear font error."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pypdf
import pytest

from server.eligibility import announce
from server.eligibility.schemas import AnnouncementItem, AnnouncementOut


@pytest.mark.parametrize(
    ("first", "last", "title", "expected"),
    [
        ("สมศรี", "ใจดี", "นาง", "นางสมศรี ใจ***"),  # a leading vowel stays with its consonant
        ("ประเสริฐ", "แก้วมณี", "นาย", "นายประเสริฐ แก้***"),  # and the tone mark on it
        ("บุญมา", "ศรีสุข", None, "บุญมา ศ***"),
        ("ลำดวน", "ฤทธิ์เดช", "นาง", "นางลำดวน ฤ***"),
        ("John", "Smith", None, "John S***"),
    ],
)
def test_mask_name(first: str, last: str, title: str | None, expected: str) -> None:
    assert announce.mask_name(first, last, title) == expected


def notice(count: int = 3) -> AnnouncementOut:
    names = [("นาง", "สมศรี", "ใจดี"), ("นาย", "ประเสริฐ", "แก้วมณี"), ("นาง", "บุญมา", "ศรีสุข")]
    return AnnouncementOut(
        round_id=uuid.uuid4(),
        title="โครงการติดตั้งปุ่มขอความช่วยเหลือฉุกเฉิน ปีงบประมาณ 2570",
        issuer="เทศบาลเมืองแสนสุข",
        approving_body="คณะกรรมการช่วยเหลือประชาชนเทศบาลเมืองแสนสุข",
        approval_reference="มติที่ 12/2569",
        approved_on=date(2026, 12, 1),
        published_at=datetime(2026, 12, 3, 3, 0, tzinfo=UTC),
        appeal_deadline=datetime(2026, 12, 18, 3, 0, tzinfo=UTC),
        items=[
            AnnouncementItem(
                rank=i + 1,
                number=f"SS-{i + 1:05d}",
                name=announce.mask_name(*names[i % 3][1:], names[i % 3][0]),
            )
            for i in range(count)
        ],
    )


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages).replace("\xa0", " ")
    # pypdf maps the shaped sara am glyph back as "ำ9"; the printed page reads "ำ".
    return text.replace("ำ9", "ำ")


def test_pdf_is_thai_with_buddhist_era_dates_and_no_health_data() -> None:
    data = announce.to_pdf(notice())
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for expected in (
        "ประกาศเทศบาลเมืองแสนสุข",
        "ประกาศรายชื่อผู้ได้รับการอนุมัติ",
        "นางสมศรี ใจ***",
        "นายประเสริฐ แก้***",
        "SS-00003",
        "1 ธันวาคม พ.ศ. 2569",  # approved 2026-12-01: Buddhist Era, as notices write it
        "18 ธันวาคม พ.ศ. 2569",  # the appeal deadline
        "3 ธันวาคม พ.ศ. 2569",
    ):
        assert expected in text, expected
    assert "2026" not in text
    for word in ("ใจดี", "แก้วมณี", "เบาหวาน", "ADL", "หกล้ม", "คะแนน"):
        assert word not in text, word


def test_pdf_ends_like_an_official_notice_with_how_to_appeal_and_a_signature() -> None:
    signed = notice().model_copy(
        update={"signer_name": "นายสมชาย รักถิ่น", "signer_position": "นายกเทศมนตรีเมืองแสนสุข"}
    )
    text = pdf_text(announce.to_pdf(signed))
    flat = "".join(text.split())  # Thai lines wrap anywhere: compare without spaces

    def has(phrase: str) -> bool:
        return "".join(phrase.split()) in flat

    assert has("จึงประกาศให้ทราบโดยทั่วกัน")
    # How to appeal (in writing, to whom) and by when.
    assert has("ยื่นคำร้องอุทธรณ์เป็นหนังสือ") and has("ต่อเทศบาลเมืองแสนสุข")
    assert has("ภายในวันที่ 18 ธันวาคม พ.ศ. 2569")
    # The signature block comes last: signature line, the name in brackets, the position.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[-3].startswith("(ลงชื่อ)"), lines[-3:]
    assert lines[-2] == "(นายสมชาย รักถิ่น)"
    assert lines[-1] == "นายกเทศมนตรีเมืองแสนสุข"
    assert flat.index("จึงประกาศให้ทราบโดยทั่วกัน") < flat.index("(ลงชื่อ)")


def test_an_unsigned_notice_leaves_lines_to_fill_in() -> None:
    lines = [x.strip() for x in pdf_text(announce.to_pdf(notice())).splitlines() if x.strip()]
    assert lines[-3].startswith("(ลงชื่อ) ....")
    assert lines[-2].startswith("(....") and lines[-1].startswith("ตำแหน่ง ....")


def test_a_long_list_runs_over_pages_with_every_number() -> None:
    data = announce.to_pdf(notice(120))
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3
    text = pdf_text(data)
    assert all(f"SS-{i:05d}" in text for i in range(1, 121))


def test_font_falls_back_to_debian_then_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(announce.FONT_ENV, raising=False)
    monkeypatch.setattr(announce.importlib.util, "find_spec", lambda name: None)
    fake = tmp_path / "Garuda.ttf"
    fake.write_bytes(b"x")
    monkeypatch.setattr(announce, "DEBIAN_FONTS", ((str(fake), str(tmp_path / "none.ttf")),))
    found = announce.find_thai_font()
    assert found.regular == fake and found.bold == fake
    monkeypatch.setattr(announce, "DEBIAN_FONTS", ())
    with pytest.raises(announce.ThaiFontMissing, match="fonts-thai-tlwg"):
        announce.find_thai_font()
    monkeypatch.setenv(announce.FONT_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(announce.ThaiFontMissing, match="not a file"):
        announce.find_thai_font()

"""The public announcement of approved applicants: JSON, CSV and a Thai PDF for the notice board.

Under the PDPA the list carries rank, application number and a masked name only: it is built
from `AnnouncementItem`, which has no other field, so no health datum can reach it.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from fpdf import FPDF
from sqlmodel import Session, col, select

from server.common.spreadsheet import safe_row
from server.eligibility import rounds
from server.eligibility.models import Application, RoundStatus
from server.eligibility.ranking import Outcome
from server.eligibility.schemas import AnnouncementItem, AnnouncementOut
from server.errors import ApiError
from server.i18n import Locale, format_date, translate

FONT_ENV = "ELDERCARE_THAI_FONT"
# Debian's fonts-thai-tlwg, when the Python font package is not installed.
DEBIAN_FONTS = (
    ("/usr/share/fonts/truetype/tlwg/Garuda.ttf", "/usr/share/fonts/truetype/tlwg/Garuda-Bold.ttf"),
    ("/usr/share/fonts/truetype/tlwg/Loma.ttf", "/usr/share/fonts/truetype/tlwg/Loma-Bold.ttf"),
    ("/usr/share/fonts/truetype/tlwg/Sawasdee.ttf", "/usr/share/fonts/truetype/tlwg/Sawasdee-Bold.ttf"),
)  # fmt: skip
THAI_CONSONANTS = range(0x0E01, 0x0E2F)
NBSP = "\u00a0"


class ThaiFontMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class ThaiFont:
    regular: Path
    bold: Path


def find_thai_font() -> ThaiFont:
    """Sarabun from the `fontpkg-sarabun` package, else Debian's TLWG fonts, else a clear error."""
    override = os.environ.get(FONT_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise ThaiFontMissing(f"{FONT_ENV}={override} is not a file")
        return ThaiFont(path, path)
    spec = importlib.util.find_spec("fontpkg_sarabun")
    if spec is not None and spec.origin:
        files = Path(spec.origin).parent / "files"
        regular, bold = files / "Sarabun-Regular.ttf", files / "Sarabun-Bold.ttf"
        if regular.is_file():
            return ThaiFont(regular, bold if bold.is_file() else regular)
    for regular_name, bold_name in DEBIAN_FONTS:
        regular, bold = Path(regular_name), Path(bold_name)
        if regular.is_file():
            return ThaiFont(regular, bold if bold.is_file() else regular)
    raise ThaiFontMissing(
        "no Thai font found for the announcement PDF: install the server extra "
        "(pip install -e '.[server]', which brings fontpkg-sarabun), or Debian's "
        f"fonts-thai-tlwg, or set {FONT_ENV} to a Thai .ttf file"
    )


def mask_name(first_name: str, last_name: str, title: str | None = None) -> str:
    """ "นางสมศรี ใจดี" -> "นางสมศรี ใจ***": the first name and the surname's first letter.

    Thai writes some vowels before the consonant and marks above or below it, so "first
    letter" means everything up to the first consonant and the marks that sit on it.
    """
    surname = last_name.strip()
    kept = ""
    for index, char in enumerate(surname):
        kept += char
        if ord(char) in THAI_CONSONANTS or (char.isalpha() and not _is_thai(char)):
            rest = surname[index + 1 :]
            for mark in rest:
                if unicodedata.category(mark) != "Mn":
                    break
                kept += mark
            break
    return f"{title or ''}{first_name.strip()} {kept}***"


def _is_thai(char: str) -> bool:
    return 0x0E00 <= ord(char) <= 0x0E7F


def announcement(session: Session, round_id: uuid.UUID) -> AnnouncementOut:
    """The published list: the selected in rank order (those selected on appeal after)."""
    round_ = rounds.get_round(session, round_id)
    if round_.status != RoundStatus.PUBLISHED:
        raise ApiError(409, "not_published", "eligibility.not_published")
    rows = session.exec(
        select(Application.number, Application.title, Application.first_name,
               Application.last_name)
        .where(Application.round_id == round_id, Application.outcome == Outcome.SELECTED)
        .order_by(col(Application.enrolled_at), col(Application.rank), col(Application.number))
    ).all()  # fmt: skip
    items = [
        AnnouncementItem(rank=position, number=number, name=mask_name(first, last, title))
        for position, (number, title, first, last) in enumerate(rows, start=1)
    ]
    return AnnouncementOut(
        round_id=round_.id, title=round_.title, issuer=round_.issuer,
        approving_body=round_.approving_body, approval_reference=round_.approval_reference,
        approved_on=round_.approved_on, signer_name=round_.signer_name,
        signer_position=round_.signer_position, published_at=round_.published_at,
        appeal_deadline=round_.appeal_deadline, items=items,
    )  # fmt: skip


def to_csv(notice: AnnouncementOut, locale: Locale = "th") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [translate(f"eligibility.announce.col.{c}", locale) for c in ("rank", "number", "name")]
    )
    for item in notice.items:
        writer.writerow(safe_row([item.rank, item.number, item.name]))
    # The BOM lets spreadsheet programs read the Thai as UTF-8.
    return buffer.getvalue().encode("utf-8-sig")


def _date(value: date | datetime | None, locale: Locale) -> str:
    """ "18 ธันวาคม พ.ศ. 2569", as official Thai notices write it, on one line."""
    text = format_date(value, locale)
    if locale == "th" and value is not None:
        day, month, year = text.split(" ")
        text = f"{day} {month} {translate('eligibility.announce.era', locale)} {year}"
    # No-break spaces keep the date on one line.
    return text.replace(" ", NBSP)


def _lines(notice: AnnouncementOut, locale: Locale) -> tuple[list[str], list[str]]:
    def t(key: str, **params: object) -> str:
        return translate(f"eligibility.announce.{key}", locale, **params)

    head = [
        t("heading", issuer=notice.issuer),
        t("subject", title=notice.title),
    ]
    body = [
        t(
            "intro",
            issuer=notice.issuer,
            body=notice.approving_body or "—",
            date=_date(notice.approved_on, locale),
            reference=notice.approval_reference or "—",
            count=len(notice.items),
        )
    ]
    return head, body


def to_pdf(notice: AnnouncementOut, locale: Locale = "th") -> bytes:
    """An A4 notice in Thai with Buddhist Era dates, ready to print and post."""
    font = find_thai_font()

    def t(key: str, **params: object) -> str:
        return translate(f"eligibility.announce.{key}", locale, **params)

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("thai", "", str(font.regular))
    pdf.add_font("thai", "B", str(font.bold))
    # Thai vowels and tone marks sit above and below their consonant: shaping places them.
    pdf.set_text_shaping(True)
    pdf.set_title(t("subject", title=notice.title))
    pdf.set_creator(notice.issuer)
    pdf.add_page()
    head, body = _lines(notice, locale)
    pdf.set_font("thai", "B", 18)
    for line in head:
        pdf.multi_cell(0, 10, line, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("thai", "", 15)
    for paragraph in body:
        # Thai has no spaces between words: justified lines would stretch unevenly.
        pdf.multi_cell(0, 8, paragraph, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _table(pdf, notice.items, locale)
    pdf.ln(5)
    pdf.set_font("thai", "", 14)
    for paragraph in _closing(notice, locale):
        pdf.multi_cell(0, 8, paragraph, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(
        0, 8, t("given_on", date=_date(notice.published_at, locale)), align="C",
        new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    pdf.ln(14)
    # The signature block: a line to sign on, the name in brackets, the position.
    for line in _signature(notice, locale):
        pdf.set_x(pdf.l_margin + 70)
        pdf.multi_cell(100, 8, line, align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _closing(notice: AnnouncementOut, locale: Locale) -> list[str]:
    """How and by when to appeal, the privacy note, and the closing formula of a notice."""
    paragraphs = []
    if notice.appeal_deadline is not None:
        paragraphs.append(
            translate(
                "eligibility.announce.appeal",
                locale,
                issuer=notice.issuer,
                deadline=_date(notice.appeal_deadline, locale),
            )
        )
    paragraphs.append(translate("eligibility.announce.privacy", locale))
    paragraphs.append(translate("eligibility.announce.closing", locale))
    return paragraphs


def _signature(notice: AnnouncementOut, locale: Locale) -> list[str]:
    blank = "." * 40
    name = notice.signer_name or blank
    position = notice.signer_position or translate(
        "eligibility.announce.position_of", locale, line=blank
    )
    return [
        translate("eligibility.announce.signature", locale, line=blank),
        f"({name})",
        position,
    ]


def _table(pdf: FPDF, items: Sequence[AnnouncementItem], locale: Locale) -> None:
    pdf.set_font("thai", "B", 15)
    headings = [
        translate(f"eligibility.announce.col.{c}", locale) for c in ("rank", "number", "name")
    ]
    with pdf.table(
        col_widths=(20, 45, 105), text_align=("CENTER", "CENTER", "LEFT"), line_height=9,
        first_row_as_headings=True,
    ) as table:  # fmt: skip
        table.row(headings)
        pdf.set_font("thai", "", 15)
        if not items:
            table.row(["—", "—", translate("eligibility.announce.none", locale)])
        for item in items:
            table.row([str(item.rank), item.number, item.name])

"""Report downloads: CSV and xlsx for staff, and the monthly PDF in Thai for a notice board.

Spreadsheet programs run a cell that starts with = + - @ (or a tab / carriage return that
hides one) as a formula, so every text cell that does is prefixed with an apostrophe.
Community names come from people's input: "=HYPERLINK(...)" must stay text.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from openpyxl import Workbook

from server.common.time import BANGKOK, utcnow
from server.eligibility.announce import find_thai_font
from server.i18n import Locale, format_date, translate
from server.reports.service import ACK_TARGET_S, ON_SCENE_TARGET_S
from server.reports.tables import Bundle, Table, all_tables, format_cell, raw_cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str | int | float | None) -> str | int | float | None:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(tables: list[Table]) -> bytes:
    """Every table one after the other, each under its title, with a blank line between."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for index, table in enumerate(tables):
        if index:
            writer.writerow([])
        writer.writerow([neutralise(table.title)])
        writer.writerow([neutralise(h) for h in table.headers])
        for row in table.rows:
            writer.writerow([neutralise(raw_cell(c)) for c in row])
    # The BOM lets spreadsheet programs read the Thai as UTF-8.
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table."""
    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    for table in tables:
        sheet = book.create_sheet(title=table.key[:31])
        sheet.append([neutralise(table.title)])
        sheet.append([neutralise(h) for h in table.headers])
        for row in table.rows:
            sheet.append([neutralise(raw_cell(c)) for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("thai", size=8)
        self.cell(0, 6, f"{self.footer_text}   {self.page_no()}", align="C")


def monthly_pdf(
    bundle: Bundle, *, month: date, issuer: str, locale: Locale = "th", now: datetime | None = None
) -> bytes:
    """The public monthly report: aggregates only, small counts shown as "<5", B.E. dates."""
    from server.reports import plots  # matplotlib loads on first use, not with the server

    font = find_thai_font()
    pdf = _Pdf(orientation="P", unit="mm", format="A4")
    pdf.add_font("thai", "", str(font.regular))
    pdf.add_font("thai", "B", str(font.bold))
    pdf.set_text_shaping(True)
    pdf.set_auto_page_break(auto=True, margin=16)
    issued = (now or utcnow()).astimezone(BANGKOK)
    pdf.footer_text = translate("reports.pdf.footer", locale, issued=format_date(issued, locale))
    pdf.add_page()

    def t(key: str, **params: object) -> str:
        return translate(key, locale, **params)

    period = _month_name(month, locale)
    pdf.set_font("thai", "B", 16)
    pdf.multi_cell(0, 9, t("reports.pdf.title", issuer=issuer), align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.set_font("thai", "", 13)
    pdf.multi_cell(0, 7, t("reports.pdf.period", period=period), align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.set_font("thai", "", 10)
    pdf.multi_cell(0, 5, t("reports.pdf.privacy"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    response = bundle.response
    trend = plots.trend(
        [p.month for p in response.trend], [p.on_scene_median_s for p in response.trend],
        [p.on_scene_within for p in response.trend], title_key="reports.plot.trend_on_scene",
        locale=locale, fmt="png",
    )  # fmt: skip
    # The distribution is a picture of single alerts: on a public page only when there are
    # enough of them that no one bar stands for one person.
    tables = all_tables(bundle, locale, public=True)
    for table in tables:
        _table(pdf, table, locale)
        if table.key == "response_milestones":
            pdf.image(io.BytesIO(trend), w=170)
            if len(response.on_scene_seconds) >= 20:
                dist = plots.distribution(
                    response.on_scene_seconds, target_s=ON_SCENE_TARGET_S,
                    title_key="reports.plot.distribution_on_scene", locale=locale, fmt="png",
                )  # fmt: skip
                pdf.image(io.BytesIO(dist), w=170)
    pdf.set_font("thai", "", 9)
    pdf.multi_cell(
        0, 5, t("reports.pdf.targets", ack=ACK_TARGET_S, on_scene=ON_SCENE_TARGET_S // 60),
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    return bytes(pdf.output())


def _month_name(month: date, locale: Locale) -> str:
    # "พฤศจิกายน 2569": the day dropped from a full Buddhist Era date.
    return format_date(month, locale).split(" ", 1)[1]


def _table(pdf: FPDF, table: Table, locale: Locale) -> None:
    if not table.rows:
        return
    keep = table.print_columns or list(range(len(table.headers)))
    headers = [table.headers[i] for i in keep]
    rows = [[row[i] for i in keep] for row in table.rows]
    pdf.set_font("thai", "B", 12)
    pdf.multi_cell(0, 7, table.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("thai", "", 8 if len(headers) > 6 else 10)
    with pdf.table(
        text_align="LEFT" if len(headers) <= 2 else "CENTER",
        line_height=4.5 if len(headers) > 6 else 5.5,
        first_row_as_headings=True,
    ) as out:
        header = out.row()
        for heading in headers:
            header.cell(heading)
        for row in rows:
            line = out.row()
            for cell in row:
                line.cell(format_cell(cell, public=True, locale=locale))
    pdf.ln(3)

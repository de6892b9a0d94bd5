"""Reports as tables: one shape that the page, CSV, xlsx and the PDF all render.

Cells keep what they are (a count, a time, a share) so each output formats them its own way,
and the public PDF can suppress small counts — and any figure computed from them — in one place.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from server.i18n import Locale, translate
from server.reports import stats
from server.reports.service import (
    CareReport,
    Milestone,
    ProgrammeReport,
    ResponseReport,
    SatisfactionReport,
)

Unit = Literal["min", "h", "pct", "score"]


@dataclass(frozen=True)
class Count:
    n: int


@dataclass(frozen=True)
class Figure:
    """A value computed from `basis` records (a median, a share...)."""

    value: float | None
    unit: Unit
    basis: int


@dataclass(frozen=True)
class Month:
    key: str  # "2026-11": kept so in CSV/xlsx, shown as "พ.ย. 69" on the page and in the PDF


Cell = str | int | Count | Figure | Month | None


@dataclass
class Table:
    key: str  # "response_rows", ...: the sheet and file name
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    # The columns a printed page has room for (None: all of them).
    print_columns: list[int] | None = None


@dataclass
class Bundle:
    response: ResponseReport
    care: CareReport
    programme: ProgrammeReport
    satisfaction: SatisfactionReport


def format_cell(cell: Cell, *, public: bool, locale: Locale = "th") -> str:
    """Text for a page or PDF. Public output hides counts under 5 and figures built on them."""
    if cell is None:
        return "—"
    if isinstance(cell, Month):
        return stats.month_label(cell.key, locale)
    if isinstance(cell, Count):
        return stats.suppress(cell.n) if public else str(cell.n)
    if isinstance(cell, Figure):
        if cell.value is None or (public and cell.basis < stats.SMALL_COUNT):
            return "—"
        if cell.unit == "pct":
            return f"{cell.value * 100:.0f}%"
        if cell.unit == "min":
            return f"{cell.value / 60:.1f}"
        return f"{cell.value:.1f}"
    return str(cell)


def raw_cell(cell: Cell) -> str | int | float | None:
    """A value for CSV/xlsx: numbers stay numbers (minutes, hours, percent)."""
    if isinstance(cell, Count):
        return cell.n
    if isinstance(cell, Month):
        return cell.key
    if isinstance(cell, Figure):
        if cell.value is None:
            return None
        if cell.unit == "pct":
            return round(cell.value * 100, 1)
        if cell.unit == "min":
            return round(cell.value / 60, 2)
        return round(cell.value, 2)
    return cell


def _t(key: str, locale: Locale, **params: object) -> str:
    return translate(key, locale, **params)


def _milestone_cells(m: Milestone) -> list[Cell]:
    cells: list[Cell] = [
        Figure(m.median_s, "min", m.count),
        Figure(m.p90_s, "min", m.count),
    ]
    if m.target_s is not None:
        cells.append(Figure(m.within_target, "pct", m.count))
    return cells


def _milestone_headers(locale: Locale) -> list[str]:
    headers: list[str] = []
    for key in ("acknowledged", "dispatched", "on_scene", "resolved"):
        name = _t(f"reports.milestone.{key}", locale)
        headers += [
            _t("reports.col.median_of", locale, what=name),
            _t("reports.col.p90_of", locale, what=name),
        ]
        if key in ("acknowledged", "on_scene"):
            headers.append(_t("reports.col.within_of", locale, what=name))
    return headers


def response_tables(report: ResponseReport, locale: Locale) -> list[Table]:
    summary = Table(
        key="response_summary",
        title=_t("reports.table.response_summary", locale),
        headers=[_t("reports.col.measure", locale), _t("reports.col.value", locale)],
        rows=[
            [_t("reports.row.real_alerts", locale), Count(report.alerts)],
            [_t("reports.row.false_alarms", locale), Count(report.false_alarms)],
            [_t("reports.row.false_alarm_rate", locale),
             Figure(report.false_alarm_rate, "pct", report.alerts + report.false_alarms)],
            [_t("reports.row.test_presses", locale), Count(report.test_presses)],
            [_t("reports.row.test_press_rate", locale),
             Figure(report.test_press_rate, "pct",
                    report.alerts + report.false_alarms + report.test_presses)],
            [_t("reports.row.cancelled", locale), Count(report.cancelled)],
        ],
    )  # fmt: skip
    milestones = Table(
        key="response_milestones",
        title=_t("reports.table.response_milestones", locale),
        headers=[_t("reports.col.milestone", locale), _t("reports.col.count", locale), _t("reports.col.median_min", locale),
                 _t("reports.col.p90_min", locale), _t("reports.col.target_min", locale), _t("reports.col.within", locale)],
        rows=[
            [_t(f"reports.milestone.{m.key}", locale), Count(m.count), Figure(m.median_s, "min", m.count),
             Figure(m.p90_s, "min", m.count),
             f"{m.target_s / 60:g}" if m.target_s else None,
             Figure(m.within_target, "pct", m.count) if m.target_s else None]
            for m in report.overall
        ],
    )  # fmt: skip
    rows = Table(
        key="response_rows",
        title=_t("reports.table.response_rows", locale),
        headers=[_t("reports.col.community", locale), _t("reports.col.kind", locale), _t("reports.col.priority", locale),
                 _t("reports.col.alerts", locale), *_milestone_headers(locale)],
        rows=[
            [r.community, translate(f"alerts.kind.{r.kind}", locale),
             translate(f"alerts.priority.{r.priority}", locale), Count(r.alerts),
             *[c for m in r.milestones for c in _milestone_cells(m)]]
            for r in report.rows
        ],
        # Acknowledged and on scene (median, within target): the two targets.
        print_columns=[0, 1, 2, 3, 4, 6, 9, 11],
    )  # fmt: skip
    trend = Table(
        key="response_trend",
        title=_t("reports.table.response_trend", locale),
        headers=[_t("reports.col.month", locale), _t("reports.col.alerts", locale),
                 _t("reports.col.median_of", locale, what=_t("reports.milestone.acknowledged", locale)),
                 _t("reports.col.within_of", locale, what=_t("reports.milestone.acknowledged", locale)),
                 _t("reports.col.median_of", locale, what=_t("reports.milestone.on_scene", locale)),
                 _t("reports.col.within_of", locale, what=_t("reports.milestone.on_scene", locale))],
        rows=[
            [Month(p.month), Count(p.alerts), Figure(p.ack_median_s, "min", p.alerts),
             Figure(p.ack_within, "pct", p.alerts), Figure(p.on_scene_median_s, "min", p.alerts),
             Figure(p.on_scene_within, "pct", p.alerts)]
            for p in report.trend
        ],
    )  # fmt: skip
    return [summary, milestones, rows, trend]


def care_tables(report: CareReport, locale: Locale, *, public: bool = False) -> list[Table]:
    if public:
        # Staff are not named in a public notice: visits are summed per community.
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for v in report.visits:
            totals = per[v.community]
            totals[0] += v.due
            totals[1] += v.done
            totals[2] += v.overdue
        visit_rows: list[list[Cell]] = [
            [community, _t("reports.all_staff", locale), Count(due), Count(done), Count(over)]
            for community, (due, done, over) in sorted(per.items())
        ]
    else:
        visit_rows = [
            [v.community, v.caregiver or _t("reports.unassigned", locale), Count(v.due), Count(v.done),
             Count(v.overdue)]
            for v in report.visits
        ]  # fmt: skip
    summary = Table(
        key="care_summary",
        title=_t("reports.table.care_summary", locale),
        headers=[_t("reports.col.measure", locale), _t("reports.col.value", locale)],
        rows=[
            [_t("reports.row.visits_due", locale), Count(report.visits_due)],
            [_t("reports.row.visits_done", locale), Count(report.visits_done)],
            [_t("reports.row.visits_done_share", locale),
             Figure(stats.rate(report.visits_done, report.visits_due), "pct", report.visits_due)],
            [_t("reports.row.visits_overdue", locale), Count(report.visits_overdue)],
            [_t("reports.row.abnormal_readings", locale), Count(report.abnormal_total)],
            [_t("reports.row.followed_up", locale), Count(report.followed_up)],
            [_t("reports.row.follow_up_median_h", locale),
             Figure(report.follow_up_median_h, "h", report.followed_up)],
            [_t("reports.row.follow_up_p90_h", locale),
             Figure(report.follow_up_p90_h, "h", report.followed_up)],
            [_t("reports.row.adl_assessed", locale), Count(report.adl_assessed)],
        ],
    )  # fmt: skip
    visits = Table(
        key="care_visits",
        title=_t("reports.table.care_visits", locale),
        headers=[_t("reports.col.community", locale), _t("reports.col.caregiver", locale), _t("reports.col.due", locale),
                 _t("reports.col.done", locale), _t("reports.col.overdue", locale)],
        rows=visit_rows,
    )  # fmt: skip
    abnormal = Table(
        key="care_abnormal",
        title=_t("reports.table.care_abnormal", locale),
        headers=[_t("reports.col.measure_kind", locale), _t("reports.col.priority", locale),
                 _t("reports.col.readings", locale)],
        rows=[
            [_t(f"reports.measure.{a.measure}", locale), translate(f"alerts.priority.{a.priority}", locale),
             Count(a.readings)]
            for a in report.abnormal
        ],
    )  # fmt: skip
    consults = Table(
        key="care_consults",
        title=_t("reports.table.care_consults", locale),
        headers=[_t("reports.col.urgency", locale), _t("reports.col.requested", locale),
                 _t("reports.col.answered", locale), _t("reports.col.median_h", locale), _t("reports.col.p90_h", locale)],
        rows=[
            [_t(f"reports.urgency.{c.urgency}", locale), Count(c.requested), Count(c.answered),
             Figure(c.median_h, "h", c.answered), Figure(c.p90_h, "h", c.answered)]
            for c in report.consults
        ],
    )  # fmt: skip
    adl = Table(
        key="care_adl",
        title=_t("reports.table.care_adl", locale),
        headers=[_t("reports.col.change", locale), _t("reports.col.elders", locale)],
        rows=[
            [_t("reports.adl_change", locale, before=_t(f"reports.adl.{a}", locale), after=_t(f"reports.adl.{b}", locale)),
             Count(n)]
            for change, n in report.adl_changes.items()
            for a, b in [change.split("->")]
        ],
    )  # fmt: skip
    return [summary, visits, abnormal, consults, adl]


def programme_tables(report: ProgrammeReport, locale: Locale) -> list[Table]:
    rows: list[list[Cell]] = [
        [_t("reports.row.registered", locale), Count(report.registered)],
        [_t("reports.row.registered_in_month", locale), Count(report.registered_in_month)],
        [_t("reports.row.enrolled", locale), Count(report.enrolled)],
        [_t("reports.row.served", locale), Count(report.served)],
        [_t("reports.row.hubs_installed", locale), Count(report.hubs_installed)],
        [_t("reports.row.hubs_online", locale), Count(report.hubs_online)],
        [_t("reports.row.hubs_offline_24h", locale), Count(report.hubs_offline_24h)],
    ]
    for kind, n in sorted(report.devices_installed.items()):
        rows.append(
            [
                _t("reports.row.devices_of", locale, kind=_t(f"reports.device.{kind}", locale)),
                Count(n),
            ]
        )
    summary = Table(
        key="programme_summary",
        title=_t("reports.table.programme_summary", locale),
        headers=[_t("reports.col.measure", locale), _t("reports.col.value", locale)],
        rows=rows,
    )
    rounds = Table(
        key="programme_rounds",
        title=_t("reports.table.programme_rounds", locale),
        headers=[_t("reports.col.round", locale), _t("reports.col.status", locale), _t("reports.col.devices", locale),
                 _t("reports.col.applications", locale), _t("reports.col.selected", locale)],
        rows=[
            [str(r["code"]), translate(f"eligibility.status.{r['status']}", locale),
             Count(int(str(r["devices"]))), Count(int(str(r["applications"]))),
             Count(int(str(r["selected"])))]
            for r in report.rounds
        ],
    )  # fmt: skip
    return [summary, rounds]


def satisfaction_tables(report: SatisfactionReport, locale: Locale) -> list[Table]:
    return [
        Table(
            key="satisfaction",
            title=_t("reports.table.satisfaction", locale),
            headers=[
                _t("reports.col.month", locale),
                _t("reports.col.context", locale),
                _t("reports.col.answers", locale),
                _t("reports.col.mean_score", locale),
                _t("reports.col.satisfied", locale),
            ],
            rows=[
                [
                    Month(p.month),
                    _t(f"reports.survey.{p.context}", locale),
                    Count(p.answers),
                    Figure(p.mean, "score", p.answers),
                    Figure(p.satisfied, "pct", p.answers),
                ]
                for p in report.points
            ],
        )
    ]


def all_tables(bundle: Bundle, locale: Locale, *, public: bool = False) -> list[Table]:
    return [
        *response_tables(bundle.response, locale),
        *care_tables(bundle.care, locale, public=public),
        *programme_tables(bundle.programme, locale),
        *satisfaction_tables(bundle.satisfaction, locale),
    ]

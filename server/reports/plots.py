"""Report plots drawn on the server with matplotlib: SVG for the page, PNG for the PDF.

Drawing on the server keeps the page free of a front-end build and puts the very same picture
in the page and in the PDF. Labels come from the i18n catalogue and are drawn in Sarabun (the
announcement's Thai font) so Thai text renders wherever the server runs.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")  # no display on a server

from matplotlib import font_manager
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from server.eligibility.announce import ThaiFontMissing, find_thai_font
from server.i18n import Locale, translate
from server.reports import stats

# pyplot keeps global state; figures are built one at a time.
_LOCK = threading.Lock()
COLOURS = {"bar": "#2f6f9f", "target": "#c0392b", "second": "#e67e22", "ok": "#27ae60"}


@lru_cache
def _font_family() -> str:
    try:
        font = find_thai_font()
    except ThaiFontMissing:
        return "DejaVu Sans"
    font_manager.fontManager.addfont(str(font.regular))
    return font_manager.FontProperties(fname=str(font.regular)).get_name()


def _figure() -> Figure:
    plt.rcParams["font.family"] = _font_family()
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: selectable, searchable, small
    plt.rcParams["svg.hashsalt"] = "eldercare"  # stable ids: the same data, the same file
    fig = plt.figure(figsize=(7.2, 3.2), dpi=110)
    return fig


def _save(fig: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    if fmt == "svg":
        return styles_as_attributes(buffer.getvalue().decode()).encode()
    return buffer.getvalue()


_STYLE_ATTRIBUTE = re.compile(r'style="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>\s*\*\s*\{([^}]*)\}\s*</style>")


def _declarations(css: str) -> str:
    pairs = (part.split(":", 1) for part in css.split(";") if ":" in part)
    return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)


def styles_as_attributes(svg: str) -> str:
    """The page's policy allows no inline CSS, and the plots are inlined in the page.

    Every property matplotlib writes (fill, stroke*, opacity, font-size, font-family,
    text-anchor) is also an SVG presentation attribute, so each `style="…"` becomes attributes
    and the one `*{…}` rule moves to the root element, where the SVG inherits it.
    """
    root_rule = _STYLE_ELEMENT.search(svg)
    svg = _STYLE_ELEMENT.sub("", svg)
    svg = _STYLE_ATTRIBUTE.sub(lambda m: _declarations(m.group(1)), svg)
    if root_rule:
        svg = svg.replace("<svg ", f"<svg {_declarations(root_rule.group(1))} ", 1)
    return svg


def distribution(
    seconds: Sequence[float], *, target_s: int, title_key: str, locale: Locale, fmt: str = "svg"
) -> bytes:
    """A histogram of response times in minutes with the target drawn as a line."""
    with _LOCK:
        fig = _figure()
        ax = fig.add_subplot()
        minutes = [s / 60 for s in seconds]
        if minutes:
            top = max(max(minutes), target_s / 60) * 1.05
            bins = 20
            ax.hist(minutes, bins=bins, range=(0, top), color=COLOURS["bar"])
        else:
            ax.text(0.5, 0.5, translate("reports.plot.no_data", locale), ha="center",
                    va="center", transform=ax.transAxes)  # fmt: skip
        ax.axvline(target_s / 60, color=COLOURS["target"], linestyle="--",
                   label=translate("reports.plot.target", locale))  # fmt: skip
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # alerts are whole
        ax.set_title(translate(title_key, locale))
        ax.set_xlabel(translate("reports.plot.minutes", locale))
        ax.set_ylabel(translate("reports.plot.alerts", locale))
        ax.legend(loc="upper right")
        return _save(fig, fmt)


def trend(
    months: Sequence[str],
    medians_s: Sequence[float | None],
    within: Sequence[float | None],
    *,
    title_key: str,
    locale: Locale,
    fmt: str = "svg",
) -> bytes:
    """Month by month: the median (minutes, bars) and the share within target (%, line)."""
    with _LOCK:
        fig = _figure()
        ax = fig.add_subplot()
        labels = [stats.month_label(m, locale) for m in months]
        ax.bar(labels, [(m or 0) / 60 for m in medians_s], color=COLOURS["bar"],
               label=translate("reports.plot.median", locale))  # fmt: skip
        ax.set_ylabel(translate("reports.plot.median_minutes", locale))
        ax.tick_params(axis="x", labelrotation=45)
        share_ax = ax.twinx()
        points = [
            (label, w * 100) for label, w in zip(labels, within, strict=True) if w is not None
        ]
        if points:
            share_ax.plot([p[0] for p in points], [p[1] for p in points], color=COLOURS["second"],
                          marker="o", label=translate("reports.plot.within_target", locale))  # fmt: skip
        share_ax.set_ylim(0, 105)
        share_ax.set_ylabel(translate("reports.plot.within_target_pct", locale))
        ax.set_title(translate(title_key, locale))
        handles = ax.get_legend_handles_labels()
        more = share_ax.get_legend_handles_labels()
        ax.legend(handles[0] + more[0], handles[1] + more[1], loc="lower left", fontsize="small")
        return _save(fig, fmt)


def bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    ylabel: str,
    fmt: str = "svg",
) -> bytes:
    """Grouped bars, e.g. visits due and done per community."""
    with _LOCK:
        fig = _figure()
        ax = fig.add_subplot()
        width = 0.8 / max(1, len(series))
        colours = [COLOURS["bar"], COLOURS["ok"], COLOURS["second"], COLOURS["target"]]
        for index, (name, values) in enumerate(series):
            xs = [i + index * width for i in range(len(labels))]
            ax.bar(xs, values, width=width, label=name, color=colours[index % len(colours)])
        ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], labels)
        ax.tick_params(axis="x", labelrotation=20)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if series:
            ax.legend(fontsize="small")
        return _save(fig, fmt)

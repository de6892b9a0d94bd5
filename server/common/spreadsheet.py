"""Cells for CSV and xlsx exports that a spreadsheet program will not run as formulas.

OWASP's rule: a cell that starts with =, +, -, @, a tab or a carriage return is prefixed with
a single quote, so "=HYPERLINK(...)" typed as a name is shown as text, never evaluated.
Every export (CSV or xlsx) writes its cells through `safe_cell`.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Numbers stay numbers; text that could start a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: list[object]) -> list[object]:
    return [safe_cell(v) for v in values]

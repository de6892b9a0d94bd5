"""The rule set is data with sources, frozen, versioned; the package stays pure."""

from __future__ import annotations

import ast
import dataclasses
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import eldercare_protocol
import triage
from triage import RULE_SET, RULE_SET_VERSION
from triage.rules import Ladder

PACKAGE = Path(triage.__file__).parent
# triage takes its vocabularies from the wire contract, so the contract must be as pure.
CONTRACT = Path(eldercare_protocol.__file__).parent


def test_one_versioned_rule_set() -> None:
    assert RULE_SET.version == RULE_SET_VERSION
    assert RULE_SET_VERSION


def test_every_table_cites_its_source() -> None:
    for table in dataclasses.fields(RULE_SET):
        value = getattr(RULE_SET, table.name)
        if dataclasses.is_dataclass(value):
            assert len(value.source) > 40, table.name  # type: ignore[union-attr]
    assert "Royal College of Physicians" in RULE_SET.news2.source
    assert "AHA" in RULE_SET.blood_pressure.source
    assert "American Diabetes Association" in RULE_SET.glucose.source


def test_rule_set_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RULE_SET.glucose.level_1_below = 60  # type: ignore[misc]
    with pytest.raises(TypeError):
        RULE_SET.events.kind_priority["panic"] = None  # type: ignore[index]


def test_ladder_refuses_unordered_steps() -> None:
    with pytest.raises(ValueError, match="strictly increase"):
        Ladder(steps=((Decimal(5), 1), (Decimal(3), 2)), above=0)


def test_the_package_says_it_is_decision_support() -> None:
    doc = triage.__doc__ or ""
    assert "Decision support only" in doc
    assert "not validated for remote care" in doc
    assert "partial" in doc


_ALLOWED_THIRD_PARTY = {"pydantic"}
_OWN_PACKAGES = {"triage", "eldercare_protocol"}
_FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval", "__import__"}


@pytest.mark.parametrize(
    "path",
    sorted(PACKAGE.glob("*.py")) + sorted(CONTRACT.glob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_pure_imports_and_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            assert (
                top in _OWN_PACKAGES
                or top == "__future__"
                or top in _ALLOWED_THIRD_PARTY
                or (
                    top in sys.stdlib_module_names
                    and top
                    not in {"os", "io", "socket", "subprocess", "pathlib", "sqlite3", "shutil"}
                )
            ), f"{path.name} imports {name}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in _FORBIDDEN_CALLS, f"{path.name} calls {node.func.id}"


def test_every_rule_function_cites_its_source() -> None:
    for name in (
        "news2_score",
        "assess_blood_pressure",
        "assess_glucose",
        "assess_spo2",
        "adl_group",
    ):
        doc = getattr(triage, name).__doc__ or ""
        module_doc = sys.modules[getattr(triage, name).__module__].__doc__ or ""
        assert "RULE_SET" in doc + module_doc or "Source" in doc + module_doc, name

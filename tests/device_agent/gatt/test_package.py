import ast
import sys
from pathlib import Path

import device_agent.gatt as gatt

PACKAGE = Path(gatt.__file__).parent


def test_exports() -> None:
    assert issubclass(gatt.ParseError, ValueError)
    for name in (
        "sfloat",
        "blood_pressure",
        "pulse_oximeter",
        "glucose",
        "racp",
        "bthome",
        "battery",
        "device_info",
        "buttons",
        "vendor",
    ):
        assert hasattr(gatt, name), name
    assert gatt.glucose.racp is gatt.racp
    assert callable(gatt.vendor.berrymed.FrameParser)


def test_imports_only_the_standard_library_and_cryptography() -> None:
    allowed = set(sys.stdlib_module_names) | {"cryptography", "device_agent"}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in allowed, f"{path.name} imports {root}"
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.startswith("device_agent"):
                assert module.startswith("device_agent.gatt"), f"{path.name}: {module}"

"""The shape of the code, checked: server packages depend on each other one way only, and
the pure cores import nothing that does I/O.

Every import counts, including those inside functions and under TYPE_CHECKING: an import
moved into a function still ties the two packages together.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.relative_to(ROOT).parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(module: str, path: Path) -> Iterator[str]:
    """Absolute names of what `module` imports (each `from X import y` yields X and X.y)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            yield source
            yield from (f"{source}.{alias.name}" for alias in node.names)


def _node(name: str) -> str | None:
    """The server package (or top-level module) a dotted name belongs to."""
    parts = name.split(".")
    if parts[0] != "server" or len(parts) < 2:
        return None
    return parts[1]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in _modules(ROOT / "server"):
        source = _node(module)
        if source is None:
            continue
        targets = graph.setdefault(source, set())
        for name in _imports(module, path):
            target = _node(name)
            if (
                target is not None and target != source and (ROOT / "server" / target).exists()
            ) or (
                target is not None
                and target != source
                and (ROOT / "server" / f"{target}.py").exists()
            ):
                targets.add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _path_between(graph: dict[str, set[str]], start: str, goal: str) -> list[str]:
    """One import path start -> ... -> goal, to say where a cycle runs."""
    seen = {start}
    queue = [[start]]
    while queue:
        path = queue.pop(0)
        for target in sorted(graph.get(path[-1], ())):
            if target == goal:
                return [*path, target]
            if target not in seen:
                seen.add(target)
                queue.append([*path, target])
    return []


def test_server_packages_have_no_import_cycles() -> None:
    graph = package_graph()
    described = []
    for component in cycles(graph):
        first, second = component[0], component[1]
        loop = _path_between(graph, first, second) + _path_between(graph, second, first)[1:]
        described.append(" -> ".join(loop))
    assert described == [], "import cycles between server packages: " + "; ".join(described)


def test_the_cycle_check_finds_a_cycle() -> None:
    # The check itself must be able to fail.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# What a pure core may import: the standard library minus I/O, pydantic, and itself.
IMPURE = (
    "server", "device_agent.ble", "device_agent.uplink", "device_agent.outbox",
    "device_agent.cli", "device_agent.simulate", "device_agent.sim",
    "fastapi", "starlette", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "sqlite3",
    "httpx", "requests", "urllib", "http", "socket", "ssl", "asyncio", "websockets",
    "bleak", "bumble", "aiohttp", "redis", "paho", "twilio", "jinja2", "uvicorn", "anyio",
    "subprocess", "threading", "multiprocessing", "apscheduler",
)  # fmt: skip


def _impure_imports(package: str) -> list[str]:
    found = []
    for module, path in _modules(ROOT / Path(*package.split("."))):
        for name in _imports(module, path):
            if any(name == bad or name.startswith(bad + ".") for bad in IMPURE):
                found.append(f"{module} imports {name}")
    return sorted(set(found))


def test_triage_imports_nothing_impure() -> None:
    assert _impure_imports("triage") == []


def test_gatt_parsers_import_nothing_impure() -> None:
    assert _impure_imports("device_agent.gatt") == []


def test_the_wire_contract_is_pure_and_the_server_imports_nothing_of_the_hub() -> None:
    # Both sides and triage/ import eldercare_protocol, so it must be as pure as triage/; the
    # server reaches the hub's code only through it (the demo runs the hub as a process).
    assert _impure_imports("eldercare_protocol") == []
    assert [
        f"{module} imports {name}"
        for module, path in _modules(ROOT / "eldercare_protocol")
        for name in _imports(module, path)
        if name.split(".")[0] in ("device_agent", "triage")
    ] == []
    assert [
        f"{module} imports {name}"
        for module, path in _modules(ROOT / "server")
        for name in _imports(module, path)
        if name == "device_agent" or name.startswith("device_agent.")
    ] == []


def test_every_server_router_commits_in_its_handlers_thread() -> None:
    """A router made without `HandlerRoute` would hold its requests' connections while their
    answers wait for a worker thread: the pool/thread deadlock `server/deps.py` describes."""
    plain = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "server").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "APIRouter(" in line and "route_class=HandlerRoute" not in line
        and not line.lstrip().startswith(("#", "from ", "import "))
    ]  # fmt: skip
    assert plain == []

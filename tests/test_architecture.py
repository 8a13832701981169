"""Layering rules: the engine never imports UI libraries; only the prices client uses requests."""

import ast
from pathlib import Path

PLANNER = Path(__file__).resolve().parent.parent / "planner"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_imports_no_ui_library():
    for path in PLANNER.rglob("*.py"):
        banned = imported_modules(path) & {"streamlit", "plotly"}
        assert not banned, f"{path.name} imports {banned}"


def test_only_the_prices_client_imports_requests():
    users = {p.relative_to(PLANNER.parent).as_posix() for p in PLANNER.rglob("*.py")
             if "requests" in imported_modules(p)}
    assert users <= {"planner/pricing/azure_api/client.py"}


def test_hours_per_month_is_defined_once():
    defs = [p.name for p in PLANNER.rglob("*.py")
            if "HOURS_PER_MONTH =" in p.read_text(encoding="utf-8")]
    assert defs == ["units.py"]

"""Layering rules, checked on the source: what may import what, where money and target switches live."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLANNER = ROOT / "planner"
UI = ROOT / "ui"
TARGETS = PLANNER / "targets"
PRICING = PLANNER / "pricing"
LAYERS = {"catalog", "physics", "pricing", "targets", "pipeline", "analyses", "io", "cli"}
TOP_LEVEL = {"__init__.py", "__main__.py", "api.py", "errors.py", "units.py", "registry.py",
             "findings.py", "scenario.py"}


def tree_of(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def imported_modules(path: Path, depth: int = 1) -> set[str]:
    """Absolute modules a file imports, cut to ``depth`` dotted parts."""
    names: set[str] = set()
    for node in ast.walk(tree_of(path)):
        if isinstance(node, ast.Import):
            names |= {".".join(alias.name.split(".")[:depth]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(".".join(node.module.split(".")[:depth]))
    return names


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_engine_imports_no_ui_library():
    for path in python_files(PLANNER):
        banned = imported_modules(path) & {"streamlit", "plotly", "ui"}
        assert not banned, f"{path.relative_to(ROOT)} imports {banned}"


def test_only_the_prices_client_imports_requests():
    users = {p.relative_to(ROOT).as_posix() for p in python_files(PLANNER)
             if "requests" in imported_modules(p)}
    assert users <= {"planner/pricing/azure_api/client.py"}


def test_hours_per_month_is_defined_once():
    defs = [p.relative_to(ROOT).as_posix() for p in python_files(PLANNER)
            if re.search(r"^HOURS_PER_MONTH\s*=", p.read_text(encoding="utf-8"), re.M)]
    assert defs == ["planner/units.py"]


def test_planner_has_its_layers_as_subpackages():
    top = {p.name for p in PLANNER.glob("*.py")}
    assert top <= TOP_LEVEL, f"unexpected top-level modules: {sorted(top - TOP_LEVEL)}"
    packages = {p.parent.name for p in PLANNER.glob("*/__init__.py")}
    assert packages >= LAYERS


def test_the_dashboard_calls_only_the_facade():
    """UI code reaches the engine through planner.api only (never physics, pricing, targets)."""
    for path in [*python_files(UI), ROOT / "app.py"]:
        engine = {m for m in imported_modules(path, depth=2) if m.split(".")[0] == "planner"}
        assert engine <= {"planner.api", "planner"}, f"{path.relative_to(ROOT)} imports {engine}"
        for node in ast.walk(tree_of(path)):
            if isinstance(node, ast.ImportFrom) and node.module == "planner":
                assert {a.name for a in node.names} <= {"api"}, path


TARGET_CLASSES = re.compile(r"\b(AzureTarget|LocalTarget|ApiTarget)\b")


def test_no_target_type_switches_outside_the_targets_package():
    """No isinstance on a target class, and no comparison of a target's kind to a literal, outside
    planner/targets: code asks the target's module instead."""
    for path in [*python_files(PLANNER), *python_files(UI), ROOT / "app.py"]:
        if TARGETS in path.parents:
            continue
        for node in ast.walk(tree_of(path)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance":
                assert not TARGET_CLASSES.search(ast.unparse(node)), (
                    f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
            if isinstance(node, ast.Compare):
                text = ast.unparse(node)
                assert not re.search(r"kind\W*\s*(==|!=|in)\s*\(?['\"](azure|local|api)['\"]",
                                     text), f"{path.relative_to(ROOT)}:{node.lineno}: {text}"


def test_no_physics_imports_from_pages():
    for path in python_files(UI / "pages"):
        assert not {m for m in imported_modules(path, depth=2)
                    if m.startswith(("planner.physics", "planner.pipeline"))}, path


def test_ui_does_not_classify_engine_text():
    """Pages word findings and limits by their codes; they never pick engine text apart."""
    for path in [*python_files(UI), ROOT / "app.py"]:
        source = path.read_text(encoding="utf-8")
        # KAITO export notes (``art.warnings``) are text by design; a plan's are findings
        for pattern in (r"fit_reason", r"batch_reason", r"\b(plan|p|est)\.warnings\b",
                        r"reason\.(split|startswith|removeprefix)", r"\.name\.(split|startswith)"):
            assert not re.search(pattern, source), f"{path.relative_to(ROOT)} matches {pattern}"


MONEY_NAMES = re.compile(r"(price|usd|cost)", re.I)


def identifiers(node: ast.AST) -> list[str]:
    """Variable and attribute names an operand reads directly (not strings, not what goes into
    or comes out of a call, e.g. a chart's log10 of a cost)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.Call | ast.Constant | ast.JoinedStr):
        return []
    return [name for child in ast.iter_child_nodes(node) for name in identifiers(child)]


def test_no_money_arithmetic_outside_pricing():
    """A price or an amount in USD is multiplied, divided, added or subtracted only in
    planner/pricing (the UI and other rooms call its functions)."""
    for path in [*python_files(PLANNER), *python_files(UI)]:
        if PRICING in path.parents:
            continue
        for node in ast.walk(tree_of(path)):
            text_sides = [s for s in (node.left, node.right) if isinstance(s, ast.JoinedStr)
                          or (isinstance(s, ast.Constant) and isinstance(s.value, str))] \
                if isinstance(node, ast.BinOp) else []
            if isinstance(node, ast.BinOp) and not text_sides and isinstance(
                    node.op, ast.Mult | ast.Div | ast.Add | ast.Sub):
                money = [name for side in (node.left, node.right) for name in identifiers(side)
                         if MONEY_NAMES.search(name) and not name.isupper()]
                assert not money, f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}"

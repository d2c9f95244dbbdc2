"""The layers hold: a system never imports another system, `lib/` imports no system, no core and
no Dagster, and core imports no system (read from the source, every import statement, including
those inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "platform_assets"
SYSTEMS = ("transit", "trip_exports", "tracking", "dataset_tracker", "quality")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules_of(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in _modules_of(folder):
        for module in sorted(_imports(path)):
            if module.startswith(forbidden):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    return found


def test_no_system_imports_another() -> None:
    violations = []
    for system in SYSTEMS:
        others = tuple(f"platform_assets.{other}" for other in SYSTEMS if other != system)
        violations += _violations(system, others)
    assert violations == []


def test_lib_imports_no_system_no_core_and_no_dagster() -> None:
    forbidden = (*(f"platform_assets.{system}" for system in SYSTEMS), "platform_assets.core", "dagster")
    assert _violations("lib", forbidden) == []


def test_core_imports_no_system() -> None:
    assert _violations("core", tuple(f"platform_assets.{system}" for system in SYSTEMS)) == []


def test_the_checker_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from platform_assets.transit.catalog import Catalog\n")
    assert "platform_assets.transit.catalog" in _imports(module)

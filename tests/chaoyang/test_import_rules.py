"""The package graph of docs/architecture.md, checked: dependencies run one way.

core/ is the bottom and imports no app; grids/ knows nothing above it; cases/ and
population/ stand on grids/; dispatch/ on cases/ and grids/; evaluation/ on dispatch/ and
what that stands on; chaoyang/ is the top and may import everything, while nothing imports
it. A new import against the grain fails here.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = {"core", "grids", "cases", "population", "dispatch", "evaluation", "chaoyang"}
ALLOWED = {
    "core": set(),
    "grids": {"core"},
    "cases": {"core", "grids"},
    "population": {"core", "grids"},
    "dispatch": {"core", "grids", "cases"},
    "evaluation": {"core", "grids", "cases", "dispatch"},
    "chaoyang": APPS - {"chaoyang"},
}


def imports_of(app: str) -> dict[str, set[str]]:
    """Every other app each module of `app` imports (at any depth: lazy imports count)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        others = (names & APPS) - {app}
        if others:
            found[str(path.relative_to(ROOT))] = others
    return found


def test_dependencies_run_one_way() -> None:
    wrong = {
        module: sorted(others - ALLOWED[app])
        for app in APPS
        for module, others in imports_of(app).items()
        if others - ALLOWED[app]
    }
    assert not wrong

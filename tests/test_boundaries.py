"""The dependency direction of DESIGN.md, enforced."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(*parts: str) -> list[Path]:
    out: list[Path] = []
    for part in parts:
        p = ROOT / part
        out.extend([p] if p.is_file() else sorted(p.rglob("*.py")))
    return out


def _offenders(files: list[Path], forbidden: str) -> list[str]:
    return [
        f"{f.relative_to(ROOT) if f.is_relative_to(ROOT) else f} imports {name}"
        for f in files
        for name in sorted(_imports(f))
        if name == forbidden or name.startswith(forbidden + ".")
    ]


def test_core_and_backends_never_import_textual() -> None:
    files = _files("app/model.py", "app/control", "app/clock.py", "backends")
    assert files, "nothing to check: the layout moved"
    assert _offenders(files, "textual") == []


def test_widgets_never_import_backends() -> None:
    assert _offenders(_files("widgets"), "backends") == []


def test_the_check_itself_catches_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from textual.app import App\nimport backends.sim\n")
    assert _offenders([bad], "textual") and _offenders([bad], "backends")

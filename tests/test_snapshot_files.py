"""Every stored snapshot belongs to a snapshot test that still exists.

syrupy fails a serial run on an unused snapshot, but not a run split over pytest-xdist
workers (`make test`): this check stands in for it there. A snapshot of a test that was
renamed or removed would otherwise stay in tests/__snapshots__ and be compared with nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
SNAPSHOTS = TESTS / "__snapshots__"


def snapshot_tests(module: Path) -> set[str]:
    """Names of the module's test functions that take the `snap_compare` fixture."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test")
        and any(arg.arg == "snap_compare" for arg in node.args.args)
    }


def test_every_snapshot_file_has_its_test() -> None:
    files = sorted(SNAPSHOTS.glob("*/*"))
    assert files, "no snapshots found"
    orphans = []
    for file in files:
        module = TESTS / f"{file.parent.name}.py"
        test = file.stem.split("[", 1)[0]  # a parametrized test's snapshots are test[id].svg
        if file.suffix != ".svg" or not module.exists() or test not in snapshot_tests(module):
            orphans.append(str(file.relative_to(TESTS)))
    assert not orphans, f"snapshots without a snapshot test: {orphans}"


def test_an_orphan_is_found(tmp_path: Path) -> None:
    module = tmp_path / "test_mod.py"
    module.write_text("def test_kept(snap_compare):\n    pass\n\n\ndef test_plain():\n    pass\n")
    assert snapshot_tests(module) == {"test_kept"}

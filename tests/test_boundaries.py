"""The rules of DESIGN.md and COMMON.md that a machine can check, each with a planted offender.

Each rule is a function from files to offender sentences; the tests run it on
the tree (expecting none) and on an offender written to a temporary folder
(expecting it to be caught), so no rule can pass by checking nothing.

`KNOWN` lists files written before a rule existed, with the rule they break;
an entry is used only while its file still breaks that rule.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 500
MAX_NESTING = 3
#: What backends may import from `app/`: the model and the pure domain modules.
PURE = (
    "app.model",
    "app.enums",  # the model's enumerations, apart from pydantic (app.model re-exports them)
    "app.flags",
    "app.experiments",
    "app.stats",
    "app.clock",
    "app.sanitize",
    "app.safejson",
    "app.identity",
    "app.yamlfile",
    "app.flag_json",  # flag parsing and validation, split out of app.flags (pure)
    "app.audit",
    "app.cluster_event",  # the Kubernetes Event model the backends read and the snapshot carries
)  # audit entry fields, signatures and change phrases (pure)
KNOWN: dict[str, set[str]] = {}
BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
Rule = Callable[[list[Path]], list[str]]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _files(*parts: str) -> list[Path]:
    out: list[Path] = []
    for part in parts:
        p = ROOT / part
        out.extend([p] if p.is_file() else sorted(p.rglob("*.py")))
    return out


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


# ---------------------------------------------------------------- the rules


def no_textual(files: list[Path]) -> list[str]:
    """The model, the engine and the backends never import Textual."""
    return [f"{_name(f)} imports {n}" for f in files for n in sorted(_imports(f)) if _under(n, "textual")]


def widgets_without_backends(files: list[Path]) -> list[str]:
    """Widgets render model objects; they never touch a backend."""
    return [f"{_name(f)} imports {n}" for f in files for n in sorted(_imports(f)) if _under(n, "backends")]


def control_uses_protocols(files: list[Path]) -> list[str]:
    """`app/control/` imports only `backends.base` from the backends."""
    return [
        f"{_name(f)} imports {n}"
        for f in files
        for n in sorted(_imports(f))
        if _under(n, "backends") and not _under(n, "backends.base") and n != "backends"
    ]


def backend_app_imports(files: list[Path]) -> list[str]:
    """Backends import from `app/` only the model and the pure domain modules; never widgets or Textual."""
    out = []
    for f in files:
        for n in sorted(_imports(f)):
            if _under(n, "app") and n != "app" and not any(_under(n, p) for p in PURE):
                if not any(_under(p, n) for p in PURE):  # `from app import model` names the package
                    out.append(f"{_name(f)} imports {n}")
            elif _under(n, "widgets") or _under(n, "textual"):
                out.append(f"{_name(f)} imports {n}")
    return out


def no_probing(files: list[Path]) -> list[str]:
    """Capabilities are protocols checked with isinstance at wiring time, never `hasattr`/`getattr`."""
    return [
        f"{_name(f)}:{node.lineno} calls {node.func.id}()"
        for f in files
        for node in ast.walk(_tree(f))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("hasattr", "getattr")
    ]


def file_size(files: list[Path]) -> list[str]:
    """Small files named for what they hold."""
    out = []
    for f in files:
        n = len(f.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            out.append(f"{_name(f)} has {n} lines (at most {MAX_LINES})")
    return out


def _blocks(stmts: list[ast.stmt], depth: int, where: str, out: list[str]) -> None:
    for stmt in stmts:
        if isinstance(stmt, FUNCTIONS + (ast.ClassDef,)):
            _blocks(stmt.body, 0, f"{where}{stmt.name}:", out)
            continue
        if not isinstance(stmt, BLOCKS):
            continue
        inner = depth + 1
        if inner > MAX_NESTING:
            out.append(f"{where}{stmt.lineno} nests {inner} blocks deep (at most {MAX_NESTING})")
        for field in ("body", "finalbody"):
            _blocks(getattr(stmt, field, []), inner, where, out)
        for handler in getattr(stmt, "handlers", []):
            _blocks(handler.body, inner, where, out)
        for case in getattr(stmt, "cases", []):
            _blocks(case.body, inner, where, out)
        orelse = getattr(stmt, "orelse", [])
        elif_chain = isinstance(stmt, ast.If) and len(orelse) == 1 and isinstance(orelse[0], ast.If)
        _blocks(orelse, depth if elif_chain else inner, where, out)


def nesting(files: list[Path]) -> list[str]:
    """No function nests its blocks deeper than three levels (an elif chain is one level)."""
    out: list[str] = []
    for f in files:
        found: list[str] = []
        _blocks(_tree(f).body, 0, "", found)
        out.extend(f"{_name(f)}:{line}" for line in found)
    return out


RULES: dict[str, tuple[Rule, tuple[str, ...]]] = {
    "no-textual": (no_textual, ("app/model.py", "app/control", "app/clock.py", "backends")),
    "widgets-without-backends": (widgets_without_backends, ("widgets",)),
    "control-uses-protocols": (control_uses_protocols, ("app/control",)),
    "backend-app-imports": (backend_app_imports, ("backends",)),
    "no-probing": (no_probing, ("app/control",)),
    "file-size": (file_size, ("app", "widgets", "backends", "themes")),
    "nesting": (nesting, ("app", "widgets", "backends")),
}

OFFENDERS: dict[str, str] = {
    "no-textual": "from textual.app import App\n",
    "widgets-without-backends": "from backends.sim.world import SimWorld\n",
    "control-uses-protocols": "from backends.base import Cluster\nfrom backends.sim.cluster import SimCluster\n",
    "backend-app-imports": "from app.model import Target\nfrom app.screens.main import MainScreen\n",
    "no-probing": "def f(store):\n    return hasattr(store, 'watch_changes')\n",
    "file-size": "x = 1\n" * (MAX_LINES + 1),
    "nesting": (
        "def f(xs):\n    for x in xs:\n        if x:\n            while x:\n"
        "                if x > 1:\n                    x -= 1\n"
    ),
}

CLEAN: dict[str, str] = {  # what each rule must let through
    "no-textual": "import asyncio\n",
    "widgets-without-backends": "from app.model import Rollout\n",
    "control-uses-protocols": "from backends.base import Cluster, Unavailable\n",
    "backend-app-imports": "from app.model import Target\nfrom app.clock import Clock\nfrom app import sanitize\n",
    "no-probing": "def f(store, Store):\n    return isinstance(store, Store)\n",
    "file-size": "x = 1\n" * MAX_LINES,
    "nesting": (
        "def f(xs):\n    for x in xs:\n        if x:\n            pass\n        elif x is None:\n"
        "            if x:\n                pass\n"
    ),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_tree_keeps_the_rule(rule: str) -> None:
    check, parts = RULES[rule]
    files = _files(*parts)
    assert files, "nothing to check: the layout moved"
    known = KNOWN.get(rule, set())
    offenders = [o for o in check(files) if o.split(" ")[0].split(":")[0] not in known]
    assert offenders == []


@pytest.mark.parametrize("rule", sorted(KNOWN))
def test_every_known_entry_still_breaks_its_rule(rule: str) -> None:
    """A file that was fixed (or removed) leaves the list, so the rule holds for it from then on."""
    check, parts = RULES[rule]
    offenders = {o.split(" ")[0].split(":")[0] for o in check(_files(*parts))}
    assert KNOWN[rule] - offenders == set()


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_rule_catches_a_planted_offender(rule: str, tmp_path: Path) -> None:
    check, _ = RULES[rule]
    bad = tmp_path / "offender.py"
    bad.write_text(OFFENDERS[rule], encoding="utf-8")
    assert check([bad]), f"{rule} let its offender through"
    good = tmp_path / "clean.py"
    good.write_text(CLEAN[rule], encoding="utf-8")
    assert check([good]) == [], f"{rule} flagged clean code"

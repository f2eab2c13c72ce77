"""The targets of a built-in scenario, read for the room's first frame before anything is validated.

`shiftroom demo` paints its header and rollouts table (the targets' names and kinds) before the
simulator, the engine and their pydantic models are imported: see app/screens/opening.py. This
reads only the names, namespaces, strategies and production marks, from the YAML the simulator
will load a moment later (`scenario.load_scenario`, which validates it). tests/test_opening.py
checks, for every built-in scenario, that these rows are the world's targets in the engine's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.enums import Strategy

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RosterRow:
    namespace: str
    name: str
    strategy: Strategy
    production: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


#: backends/sim/defaults.py's DEFAULT_TARGETS, for a scenario that names no targets of its own.
DEFAULT_ROSTER = (
    RosterRow("microservices", "frontend", Strategy.BLUE_GREEN, production=True),
    RosterRow("microservices", "microservices-canary", Strategy.CANARY, production=True),
)


def builtin(name: str) -> Path | None:
    """The file of a built-in scenario by name; None for anything else (a path is validated first)."""
    path = SCENARIOS / f"{name}.yaml"
    return path if "/" not in name and path.is_file() else None


@dataclass(frozen=True)
class Roster:
    scenario: str  # the scenario's own name (its `name:`), as the engine's snapshot says it
    rows: tuple[RosterRow, ...]

    @property
    def namespace(self) -> str:
        """The header's namespace, as the demo's engine is given it."""
        return ",".join(sorted({r.namespace for r in self.rows})) or "all"


def roster(name: str) -> Roster | None:
    """The targets of built-in scenario `name`, or None when it is not one or cannot be read as expected."""
    path = builtin(name)
    if path is None:
        return None
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        entries = data.get("targets")
        rows = DEFAULT_ROSTER if entries is None else tuple(_row(e) for e in entries)
        return Roster(scenario=str(data.get("name", "default")), rows=rows)
    except (OSError, yaml.YAMLError, ValueError, TypeError, AttributeError, KeyError):
        return None  # the validating load will say what is wrong, in one sentence


def _row(entry: Any) -> RosterRow:
    return RosterRow(
        namespace=str(entry.get("namespace", "default")),
        name=str(entry["name"]),
        strategy=Strategy(entry.get("strategy", Strategy.CANARY.value)),
        production=bool(entry.get("production", False)),
    )

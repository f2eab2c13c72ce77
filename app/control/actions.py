"""What a key press asks of the engine, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIONS = ("step", "promote", "pause", "resume", "abort", "switch", "undo", "auto")
DESTRUCTIVE = frozenset({"promote", "abort", "switch", "undo"})


@dataclass(frozen=True)
class Preview:
    """Exactly what an action would change, shown before it happens."""

    title: str
    lines: list[str] = field(default_factory=list)
    destructive: bool = False
    confirm_name: str | None = None  # production targets: the name must be typed
    possible: bool = True  # False: the action does not apply now (lines say why)


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str

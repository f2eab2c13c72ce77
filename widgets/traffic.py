"""The traffic split drawn large: one bar per side with its actual percent.

Desired vs actual weights are the why pane's: it says what the router still has to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from app.enums import Strategy
from widgets.formatting import idle_color

if TYPE_CHECKING:
    from app.model import Rollout

FULL = "█"
EMPTY = "░"
MAX_BAR = 40
LABEL = 8  # "stable  ", "canary  ", "green   "


def bar(percent: int, width: int) -> tuple[str, str]:
    """(filled, empty) cells of a `width` bar; any traffic shows at least one cell."""
    filled = round(percent * width / 100)
    if percent > 0:
        filled = max(1, filled)
    if percent < 100:
        filled = min(width - 1, filled) if width > 1 else filled
    return FULL * filled, EMPTY * (width - filled)


def split_lines(rollout: Rollout, width: int) -> list[tuple[str, int, str, str]]:
    """(label, percent, colour variable, note) for each side, in display order."""
    if rollout.strategy is Strategy.BLUE_GREEN:
        live = rollout.active_color or "live"
        idle = idle_color(live) or "idle"
        return [
            (live, rollout.actual.stable, f"${live}-color" if live in ("blue", "green") else "$primary", "LIVE"),
            (idle, rollout.actual.canary, f"${idle}-color" if idle in ("blue", "green") else "$secondary", "idle"),
        ]
    return [
        ("stable", rollout.actual.stable, "$primary", ""),
        ("canary", rollout.actual.canary, "$canary-color", ""),
    ]


def traffic_content(rollout: Rollout | None, width: int) -> Content:
    if rollout is None:
        return Content("")
    bar_width = max(4, min(MAX_BAR, width - LABEL - 11))
    lines: list[Content] = []
    for label, percent, colour, note in split_lines(rollout, bar_width):
        filled, empty = bar(percent, bar_width)
        note_style = "bold $success" if note == "LIVE" else "$text-muted"
        lines.append(
            Content.assemble(
                (f"{label:<{LABEL - 1}} ", "bold"),
                (filled, colour),
                (empty, "$text-muted"),
                (f" {percent:>3}%", "bold"),
                (f" {note}" if note else "", note_style),
            )
        )
    return Content("\n").join(lines)


class TrafficSplit(Widget):
    """Stable vs canary (or live vs idle colour) as two large bars."""

    DEFAULT_CSS = """
    TrafficSplit { height: auto; }
    """

    #: A new split repaints the bars; only a rollout appearing or going away changes the height (two lines or none).
    rollout: reactive[Rollout | None] = reactive(None)

    def show(self, rollout: Rollout | None) -> None:
        if (rollout is None) != (self.rollout is None):
            self.refresh(layout=True)
        self.rollout = rollout

    def render(self) -> Content:
        return traffic_content(self.rollout, self.content_size.width or 48)

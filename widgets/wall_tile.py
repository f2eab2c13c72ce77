"""One tile of the wall: a bordered box showing a `Card`; redraws only when its card changes."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from widgets.wall_cards import Card

STATES = ("ok", "moving", "failed", "idle")


class WallTile(Static):
    DEFAULT_CSS = """
    WallTile { height: 6; border: round $secondary; padding: 0 1; border-title-style: bold; }
    WallTile.-ok { border: round $success; }
    WallTile.-moving { border: heavy $warning; }
    WallTile.-failed { border: heavy $error; }
    WallTile.-idle { border: round $secondary; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)
        self.card: Card | None = None
        self.display = False

    def show(self, card: Card | None) -> None:
        if card == self.card:
            return
        self.card = card
        self.display = card is not None
        if card is None:
            return
        self.border_title = card.title
        self.border_subtitle = card.subtitle
        for state in STATES:
            self.set_class(state == card.state, f"-{state}")
        self.update(Text("\n").join(card.lines))

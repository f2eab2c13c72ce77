"""One tile of the wall: a bordered box showing a `Card`; redraws only the lines of its card that changed.

Each of the card's four lines is a one-row widget of its own, so a new age
("· 40s ago") repaints that row, not the whole tile with its border: on a
20-tile wall that is most of what goes to the terminal each second.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from widgets.keyed_table import cell_signature
from widgets.wall_cards import Card

STATES = ("ok", "moving", "failed", "idle")
LINES = 4  # a tile is 6 rows: its border and four lines


class WallTile(Vertical):
    DEFAULT_CSS = """
    WallTile { height: 6; border: round $secondary; padding: 0 1; border-title-style: bold; }
    WallTile.-ok { border: round $success; }
    WallTile.-moving { border: heavy $warning; }
    WallTile.-failed { border: heavy $error; }
    WallTile.-idle { border: round $secondary; }
    WallTile > .tile-line { height: 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.card: Card | None = None
        self.display = False
        self._shown: list[Hashable] = [None] * LINES  # what each line shows now
        self._rows = [Static("", classes="tile-line", markup=False) for _ in range(LINES)]

    def compose(self) -> ComposeResult:
        yield from self._rows

    def show(self, card: Card | None) -> None:
        if card == self.card:
            return
        self.card = card
        if self.display != (card is not None):
            self.display = card is not None
        if card is None:
            return
        if self.border_title != card.title:
            self.border_title = card.title
        if self.border_subtitle != card.subtitle:
            self.border_subtitle = card.subtitle
        for state in STATES:
            self.set_class(state == card.state, f"-{state}")
        if self.is_mounted:
            self._show_lines(card)

    def on_mount(self) -> None:
        if self.card is not None:
            self._show_lines(self.card)

    def _show_lines(self, card: Card) -> None:
        # Each line as the joined text of the whole card had it: a line's own style becomes a span (so "green"
        # stays the terminal's ANSI green, not CSS green).
        lines = [Text("").join([line]) for line in card.lines[:LINES]]
        lines += [Text("")] * (LINES - len(lines))
        for i, (row, text) in enumerate(zip(self._rows, lines, strict=False)):
            signature = cell_signature(text)
            if signature != self._shown[i]:
                self._shown[i] = signature
                row.update(text, layout=False)  # one row of a fixed size: nothing moves

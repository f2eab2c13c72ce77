"""The room's first frame: its header, tabs and rollouts table, before the engine exists.

`shiftroom demo` paints this as soon as Textual runs. It shows what is known without the simulator,
the engine and their pydantic models: the scenario's targets by name and kind (backends/sim/roster.py),
the mode, the context and the namespace; their state says "…" until the first snapshot. Right after
this frame the App builds the engine and starts it; with its first snapshot the room's own screen
comes up over this one, laid out the same (the same ids, so the same stylesheet rules), so nothing
moves but the state coming in.

Only quitting works here; it lasts the time it takes to import and build the rest (well under a second).
Everything this module imports is what the first frame needs: tests/test_startup_imports.py checks it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from app.enums import Mode
from widgets.header import RoomHeader
from widgets.rollouts_table import RolloutsTable
from widgets.room_footer import RoomFooter

NARROW = 120  # app/screens/main.py's: below this many columns the detail pane goes under the table


@dataclass(frozen=True)
class Opening:
    """What the first frame says. The header reads it as it reads a snapshot (the same field names)."""

    rows: tuple[Any, ...]  # backends/sim/roster.py's RosterRow: namespace, name, strategy, production, key
    mode: Mode = Mode.DEMO
    context: str = "sim"
    namespace: str = "all"
    scenario: str = ""
    read_only: bool = False
    t: float = field(default_factory=time.time)
    cluster: str = ""
    identity: str = ""
    rollouts: tuple[Any, ...] = ()
    health: tuple[Any, ...] = ()
    invalid_flags: int = 0
    invalid_experiments: int = 0
    audit_queued: int = 0


class OpeningScreen(Screen[None]):
    """The first frame; the room's screen comes up over it with the engine's first snapshot."""

    BINDINGS = [Binding("q", "app.quit", "Quit", id="quit-opening")]

    def __init__(self, opening: Opening, *, title_context: str | None = None) -> None:
        super().__init__(id="opening")
        self.opening = opening
        self.title_context = title_context

    def compose(self) -> ComposeResult:
        yield RoomHeader(read_only=self.opening.read_only, title_context=self.title_context)
        with TabbedContent(id="tabs", initial="rollouts"):
            with TabPane(f"Rollouts {len(self.opening.rows)}", id="rollouts"):
                yield from self._rollouts_body()
            yield TabPane("Flags", id="flags")
            yield TabPane("Experiments", id="experiments")
        yield RoomFooter(compact=True)

    def _rollouts_body(self) -> ComposeResult:
        """MainScreen's layout, with the event log and the detail pane empty."""
        with Horizontal(id="rollouts-body"):
            with Vertical(id="left"):
                yield RolloutsTable(id="rollouts-table")
                yield Static("", id="events")
            yield Static("", id="detail")

    def on_mount(self) -> None:
        for selector in ("rollouts-table", "events", "detail"):
            self.query_one(f"#{selector}").border_title = selector.removesuffix("-table")
        self.query_one(RoomHeader).show(self.opening)  # type: ignore[arg-type]  # the snapshot's header fields
        table = self.query_one(RolloutsTable)
        table.show_roster(self.opening.rows)
        table.focus()

    def on_resize(self, event: Resize) -> None:
        narrow = event.size.width < NARROW
        self.set_class(narrow, "-narrow")
        self.query_one(RolloutsTable).compact = narrow
        self.query_one(RoomHeader).set_compact(narrow)

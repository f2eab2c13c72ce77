"""The wall: one tile per rollout, the backends' health and a large clock; no action keys at all.

`WatchScreen(state, cycle=...)` lays its tiles out for the terminal it gets
(80×24 up to 250×70 and beyond): as many 6-line tiles as fit, in as many
columns as fit. What does not fit goes on further pages; with `cycle` seconds
the wall rotates through them: rollouts, then flags, then experiments. Each
snapshot updates only the tiles whose card changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from app.enums import HealthStatus, Mode
from app.sanitize import clean
from widgets.wall_cards import Card, decided_at, experiment_card, flag_card, rollout_card
from widgets.wall_clock import WallClock
from widgets.wall_tile import WallTile

if TYPE_CHECKING:
    from app.model import RoomState

TILE_WIDTH = 38  # the narrowest tile that still reads (columns, with its border)
TILE_HEIGHT = 6
TOP = 3  # rows of the top bar
HEALTH_STYLE = {HealthStatus.UP: "bold green", HealthStatus.STALE: "bold yellow", HealthStatus.DOWN: "bold red"}


def grid_shape(width: int, height: int, count: int = 0) -> tuple[int, int]:
    """(columns, rows) of tiles for a terminal of `width` × `height`; with `count` rollouts to show, no more
    columns than rollouts, so a wall with few rollouts shows them wide (names and decisions whole)."""
    cols = max(1, width // TILE_WIDTH)
    if count > 0:
        cols = min(cols, count)
    return cols, max(1, (height - TOP - 1) // TILE_HEIGHT)


class WatchScreen(Screen[None]):
    DEFAULT_CSS = """
    WatchScreen { layout: vertical; }
    #wall-top { height: 3; }
    #wall-info { width: 1fr; height: 3; padding: 0 1; }
    #wall-title { text-style: bold; }
    #wall-grid { height: 1fr; grid-gutter: 0 1; grid-rows: 6; padding: 0 1; }
    """
    # A wall has no keys that act: no BINDINGS here; the App's quit is all.

    def __init__(
        self,
        state: RoomState,
        *,
        cycle: float = 0.0,
        now: Callable[[], float] = time.time,
        simulated: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.simulated = simulated  # the engine's clock is a demo's: show its time, labelled
        self.state = state
        self.cycle = cycle
        self.now = now
        self.page = 0
        self.shape = (1, 1)
        self._first_seen: dict[str, tuple[str, float]] = {}
        self._ready = False
        self._tiles: list[WallTile] = []  # the grid's tiles, in order (kept: a query walks every node each snapshot)

    def compose(self) -> ComposeResult:
        with Horizontal(id="wall-top"):
            with Vertical(id="wall-info"):
                yield Static("", id="wall-title", markup=False)
                yield Static("", id="wall-health", markup=False)
                yield Static("", id="wall-page", markup=False)
            yield WallClock(self.now, id="wall-clock")
        yield Grid(id="wall-grid")

    def on_mount(self) -> None:
        if self.cycle > 0:
            self.set_interval(self.cycle, self.next_page)
        self._ready = True
        self._layout(self.size.width, self.size.height)
        self.show_state(self.state)

    def on_resize(self) -> None:
        if self._ready:
            self._layout(self.size.width, self.size.height)

    def _layout(self, width: int, height: int) -> None:
        shape = grid_shape(width, height, len(self.state.rollouts))
        grid = self.query_one("#wall-grid", Grid)
        if shape != self.shape or not grid.children:
            self.shape = shape
            grid.styles.grid_size_columns = shape[0]
            grid.remove_children()
            self._tiles = [WallTile() for _ in range(shape[0] * shape[1])]
            grid.mount_all(self._tiles)
        self.call_after_refresh(self._render_page)

    # ------------------------------------------------------------ pages
    def pages(self) -> list[tuple[str, list[Card]]]:
        state = self.state
        cols = self.shape[0]
        width = max(TILE_WIDTH, (self.size.width - 2 - (cols - 1)) // cols)  # grid padding and gutters
        now = state.t
        rollouts = [
            rollout_card(r, now, self._since(state, r.key, r.decision or r.message), width) for r in state.rollouts
        ]
        groups = [
            ("rollouts", rollouts),
            ("flags", [flag_card(f, width) for f in state.flags]),
            ("experiments", [experiment_card(e, width) for e in state.experiments]),
        ]
        per = self.shape[0] * self.shape[1]
        out: list[tuple[str, list[Card]]] = []
        for name, cards in groups:
            if name != "rollouts" and not cards:
                continue
            for start in range(0, max(1, len(cards)), per):
                out.append((name, cards[start : start + per]))
        return out

    def _since(self, state: RoomState, key: str, decision: str) -> float | None:
        """When the rollout's last decision was made: the event trail's time, else when this wall first saw it."""
        at = decided_at(state, key)
        if at is not None:
            return at
        seen = self._first_seen.get(key)
        if seen is None or seen[0] != decision:
            self._first_seen[key] = (decision, state.t)
            return None if seen is None else state.t
        return seen[1]

    def next_page(self) -> None:
        self.page += 1
        self._render_page()

    def _render_page(self) -> None:
        pages = self.pages()
        if self.cycle <= 0:
            self.page = 0
        index = self.page % len(pages)
        name, cards = pages[index]
        for i, tile in enumerate(self._tiles):
            tile.show(cards[i] if i < len(cards) else None)
        same = [p for p in pages if p[0] == name]
        part = same.index(pages[index]) + 1 if len(same) > 1 else 0
        total = {
            "rollouts": len(self.state.rollouts),
            "flags": len(self.state.flags),
            "experiments": len(self.state.experiments),
        }[name]
        forms = [  # longest first; the last fits the 80-column pager line
            f"{name} · {len(cards)} of {total}" + (f" · page {part} of {len(same)}" if part else ""),
            f"{name} {len(cards)}/{total}" + (f" · page {part}/{len(same)}" if part else ""),
            f"{name} {len(cards)}/{total}" + (f" · {part}/{len(same)}" if part else ""),
        ]
        if self.cycle > 0 and len(pages) > 1:
            forms = [f"{forms[0]} · next every {self.cycle:g}s", *(f"{f} · every {self.cycle:g}s" for f in forms[1:])]
        elif len(pages) > 1:
            forms = [
                f"{forms[0]} · {len(pages) - 1} more: --cycle SEC",
                *(f"{f} · +{len(pages) - 1}: --cycle SEC" for f in forms[1:]),
            ]
        self._set("#wall-page", *(Text(f, style="dim") for f in forms))

    # ------------------------------------------------------------ snapshots
    def show_state(self, state: RoomState) -> None:
        self.state = state
        if not self._ready:  # shown once mounted
            return
        mode = Text(
            f" {state.mode.value} ",
            style="bold reverse yellow" if state.mode is Mode.READ_ONLY else "bold reverse cyan",
        )
        namespaces = state.namespace.split(",")
        where = [(state.context, state.namespace, state.scenario)]
        if len(namespaces) > 1:  # "5 namespaces" when their names don't fit, so the scenario's name still does
            where.append((state.context, f"{len(namespaces)} namespaces", state.scenario))
        titles = [
            Text.assemble(("SHIFTROOM WATCH ", "bold"), mode, "  ", clean(" · ".join(x for x in w if x))) for w in where
        ]
        titles.append(
            Text.assemble(mode, "  ", clean(" · ".join(x for x in where[-1] if x)))
        )  # 80 columns: the mode first
        self._set("#wall-title", *titles)
        health = Text()
        for h in state.health:
            health.append("● ", style=HEALTH_STYLE.get(h.status, "bold"))
            health.append(clean(h.name) + ("" if h.status is HealthStatus.UP else f" {h.status.value}") + "  ")
        self._set("#wall-health", health)
        self.query_one(WallClock).show_simulated(state.t if self.simulated else None)
        if grid_shape(self.size.width, self.size.height, len(state.rollouts)) != self.shape:
            self._layout(self.size.width, self.size.height)  # rollouts came or went: tiles as wide as they fit
            return
        self._render_page()

    def _set(self, selector: str, *texts: Text) -> None:
        """Show the first of `texts` that fits beside the clock (the last one cut with an ellipsis if none does)."""
        widget = self.query_one(selector, Static)
        info = self.query_one("#wall-info").content_size.width  # beside the clock, once laid out
        room = max(10, info or self.size.width - 40)
        text = next((t for t in texts if t.cell_len <= room), texts[-1])
        text.no_wrap = True
        text.truncate(room, overflow="ellipsis")
        if getattr(widget, "_wall_text", None) != text.markup:
            widget._wall_text = text.markup  # type: ignore[attr-defined]
            widget.update(text)

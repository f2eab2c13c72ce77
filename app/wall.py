"""`WatchApp`: the wall monitor. Engine snapshots in, nothing out: no key acts on anything.

It shares the room's stylesheet and themes (the high-contrast `wall` by
default) and the engine contract; the engine it is given is read-only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

import themes
from app.hangup import close_on_hangup
from app.model import RoomState
from app.screens.watch import WatchScreen

if TYPE_CHECKING:
    from app.control.engine import Engine


class WallState(Message):
    """A new snapshot; a newer one replaces an older one still in the queue."""

    def __init__(self, state: RoomState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WallState)


class WatchApp(App[None]):
    CSS_PATH = str(themes.STYLESHEET)
    TITLE = "Shiftroom watch"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(
        self,
        engine: Engine | Any,
        *,
        theme: str = "wall",
        cycle: float = 0.0,
        now: Callable[[], float] = time.time,
        simulated: bool = False,
    ) -> None:
        themes.check(theme)
        super().__init__()
        for one in themes.THEMES.values():
            self.register_theme(one)
        self.theme = theme
        self.engine = engine
        self.wall = WatchScreen(engine.state, cycle=cycle, now=now, simulated=simulated)

    def get_default_screen(self) -> WatchScreen:
        return self.wall

    def on_mount(self) -> None:
        self.engine.subscribe(self._snapshot)
        self.start_engine()
        close_on_hangup(self)

    def _snapshot(self, state: RoomState) -> None:
        """Engine callback, on the event loop: queue it, let the queue coalesce."""
        self.post_message(WallState(state))

    @work(group="engine", exit_on_error=False)
    async def start_engine(self) -> None:
        try:
            await self.engine.start()
        except Exception as error:
            self.notify(f"The engine did not start: {error}", severity="error", timeout=15)

    def on_wall_state(self, message: WallState) -> None:
        if self.is_running:  # not while shutting down: the engine still publishes, the tiles are going away
            self.wall.show_state(message.state)

    async def on_unmount(self) -> None:
        await self.engine.stop()

"""The Textual App: engine snapshots in, key presses out.

`ShiftroomApp(engine)` subscribes to the engine, starts it in a worker, turns
each snapshot into a coalescing `StateUpdated` message and hands it to the
main screen. Read-only engines get the screen without write keys.

`ShiftroomApp.opening(opening, build)` paints the first frame before the engine
exists (app/screens/opening.py), then calls `build()` and carries on as above:
`shiftroom demo` starts that way, so its first frame waits for no import the
frame does not need.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

import themes
from app.clock import VirtualClock
from app.hangup import close_on_hangup
from app.sanitize import clean
from app.screens.binding_list import room_bindings
from app.screens.commands import RoomCommands
from app.screens.key_routing import misrouted_to, redeliver
from app.screens.opening import Opening, OpeningScreen
from app.screens.snapshot import Snapshot

if TYPE_CHECKING:
    from textual.screen import Screen

    from app.control.engine import Engine
    from app.model import RoomState
    from app.screens.main import MainScreen


def default_wall_clock(engine: Any) -> Callable[[], float]:
    """Real time, except on a virtual clock (tests, headless runs): there nothing moves unless told to."""
    clock = getattr(engine, "clock", None)
    return clock.now if isinstance(clock, VirtualClock) else time.time


class StateUpdated(Message):
    """A new snapshot; a newer one replaces an older one still in the queue."""

    def __init__(self, state: RoomState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StateUpdated)


class ShiftroomApp(App[None]):
    CSS_PATH = str(themes.STYLESHEET)
    TITLE = "Shiftroom"
    COMMANDS = App.COMMANDS | {RoomCommands}

    BINDINGS = [
        Binding("ctrl+p", "command_palette", "Palette", id="palette", priority=True, show=False),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        engine: Engine | Any = None,
        *,
        theme: str = themes.DEFAULT,
        title_context: str | None = None,
        wall_clock: Callable[[], float] | None = None,
        opening: Opening | None = None,
        build: Callable[[], Engine | Any] | None = None,
    ) -> None:
        """`engine`, or `opening` and `build` (see `ShiftroomApp.opening`)."""
        if (engine is None) == (opening is None and build is None) or (opening is None) != (build is None):
            raise TypeError("ShiftroomApp takes an engine, or an opening and a build, not both")
        themes.check(theme)
        super().__init__()
        self.wall_clock = wall_clock or default_wall_clock(engine)  # the header's real time; tests freeze it
        for one in themes.THEMES.values():
            self.register_theme(one)
        self.theme = theme
        self.title_context = title_context
        self.main_screen: MainScreen | None = None
        self._opening = opening
        self._build = build
        self._putting_up = False  # the room's screen is being mounted over the opening
        self._exit_when_up: tuple[Any, ...] | None = None  # an exit asked for meanwhile (`q`, a hang-up)
        self._started = False
        self.read_only: bool = bool(engine.read_only) if engine is not None else bool(opening and opening.read_only)
        if engine is not None:
            self._attach(engine)

    @classmethod
    def opening(cls, opening: Opening, build: Callable[[], Engine | Any], **kwargs: Any) -> ShiftroomApp:
        """A room whose first frame is `opening`'s; `build()` makes its engine right after that frame is painted."""
        return cls(opening=opening, build=build, **kwargs)

    def _attach(self, engine: Engine | Any) -> None:
        self.engine = engine
        self.read_only = bool(engine.read_only)
        self.state: RoomState = engine.state

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:
        """Every toast: its text may hold names from outside, so it is sanitized and never read as markup."""
        kwargs["markup"] = False
        super().notify(clean(message, multiline=True), title=clean(title), **kwargs)

    async def on_event(self, event: events.Event) -> None:
        # A burst: letters handed to the table before `/` focused the filter go to the filter (key_routing).
        target = misrouted_to(self, event)
        if target is not None and isinstance(event, events.Key):
            event.stop()
            redeliver(target, event)
            return
        await super().on_event(event)

    def get_default_screen(self) -> Screen[Any]:
        if self._opening is not None:
            return OpeningScreen(self._opening, title_context=self.title_context)
        return self._room_screen()

    def _room_screen(self) -> MainScreen:
        from app.screens.control import ControlScreen
        from app.screens.main import MainScreen

        screen_class = MainScreen if self.read_only else ControlScreen
        roster = self._opening.rows if self._opening else ()
        self.main_screen = screen_class(
            self.state, read_only=self.read_only, title_context=self.title_context, roster=roster
        )
        return self.main_screen

    def on_mount(self) -> None:
        close_on_hangup(self)
        if self._build is not None:
            self.sub_title = self.title_context or (self._opening.context if self._opening else "")
            self.call_after_refresh(self._open)  # the first frame goes out first
            return
        self._start()

    async def _open(self) -> None:
        """Build the engine (its imports, the simulated world), put the room's screen up and start the engine.

        The screen is awaited until mounted: a `q` typed during the build, or a hang-up, is handled after it,
        not while its widgets are still mounting (they would be taken apart under their own on_mount).
        """
        assert self._build is not None
        self._attach(self._build())
        self._build = None
        self._putting_up = True
        try:
            await self.push_screen(self._room_screen())  # over the opening, which stays below, idle
        finally:
            self._putting_up = False
        self._opening = None
        if self._exit_when_up is not None:  # asked to leave meanwhile: leave, with no engine to start and stop
            super().exit(*self._exit_when_up)
            return
        self._start()

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None:
        if self._putting_up:  # its widgets are mid-mount: taken apart now, their on_mount would find nothing
            self._exit_when_up = (result, return_code, message)
            return
        super().exit(result, return_code, message)

    def _start(self) -> None:
        self._started = True
        self.sub_title = self.title_context or self.state.context
        self.engine.subscribe(self._snapshot)
        self.start_engine()

    def _snapshot(self, state: RoomState) -> None:
        """Engine callback, on the event loop: queue it, let the queue coalesce."""
        self.post_message(StateUpdated(state))

    @work(group="engine", exit_on_error=False)
    async def start_engine(self) -> None:
        try:
            await self.engine.start()
        except Exception as error:
            self.notify(f"The engine did not start: {error}", severity="error", timeout=15)

    def on_state_updated(self, message: StateUpdated) -> None:
        self.state = message.state
        if not self.is_running:  # shutting down: the engine still publishes, the screens are being taken apart
            return
        if self.main_screen is not None:
            self.main_screen.show_state(message.state)
        for screen in self.screen_stack:  # dialogs above it keep living too (a confirmation's live preview)
            if screen is not self.main_screen:
                screen.post_message(Snapshot(message.state))

    async def on_unmount(self) -> None:
        if not self._started:
            return  # left from the first frame, or as the room's screen came up: no engine was started
        try:
            await self.engine.stop()
        except Exception as err:  # leaving anyway: the traceback goes where a crash's would, not lost
            from app import crashlog

            crashlog.save(err, context="stopping the engine as the room closed")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.main_screen is None and action != "quit":
            return False  # the opening: the room's screen would come up over a palette opened now
        return True

    def action_help(self) -> None:
        from app.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(room_bindings(self), read_only=self.read_only))

    def binding_group(self, binding: Binding) -> str:
        return "Room"

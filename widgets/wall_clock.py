"""The wall's large clock: real time from an injected time source, and the demo's simulated time, labelled.

The time source (`now`, seconds since the epoch) is injected so that a snapshot
never sees the wall clock; the room's clock time (`show_simulated`) is shown
only when it is not real time (a demo), as "simulated HH:MM:SS".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Digits, Static

from widgets.static_update import set_content


class WallClock(Horizontal):
    DEFAULT_CSS = """
    WallClock { width: auto; height: 3; }
    WallClock > Digits { width: auto; text-style: bold; }
    WallClock > .simulated { width: auto; height: 3; color: $warning; text-align: right; padding: 0 1; }
    """

    def __init__(self, now: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._now = now
        self._shown = ""

    def compose(self) -> ComposeResult:
        yield Static("", classes="simulated", markup=False)
        yield Digits(self._text(), id="wall-time")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)

    def _text(self) -> str:
        return time.strftime("%H:%M", time.localtime(self._now()))

    def tick(self) -> None:
        text = self._text()
        if text != self._shown:
            self._shown = text
            self.query_one(Digits).update(text)

    def show_simulated(self, t: float | None) -> None:
        label = "" if t is None else "\n\nsimulated " + time.strftime("%H:%M:%S", time.gmtime(t))
        set_content(self.query_one(".simulated", Static), label)

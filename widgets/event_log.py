"""The audit log: newest at the bottom, one line per event, coloured by level."""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual.widgets import RichLog

from app.model import AuditEvent, Level
from app.sanitize import clean
from widgets.formatting import hhmmss
from widgets.palette import Palette

MAX_LINES = 500


def event_text(event: AuditEvent, p: Palette) -> Text:
    """`HH:MM:SS actor target action — reason`."""
    colour = p.level(event.level)
    text = Text.assemble(
        (hhmmss(event.t), p.muted),
        " ",
        (clean(event.actor), p.primary),
        " ",
        (clean(event.target), "bold"),
        " ",
        (clean(event.action), f"bold {colour}" if event.level is not Level.INFO else "bold"),
    )
    if event.reason:
        text.append(" — ", style=p.muted)
        text.append(clean(event.reason), style=colour)
    return text


class EventLog(RichLog):
    """Appends only the events it has not shown yet."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; overflow-y: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=True, markup=False, auto_scroll=True, **kwargs)
        self._shown: list[AuditEvent] = []

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._rewrite(self._shown))

    def show(self, events: Sequence[AuditEvent]) -> None:
        events = list(events)
        new = self._new_since_last(events)
        if new is None:
            self._rewrite(events)
            return
        p = Palette.of(self)
        for event in new:
            self.write(event_text(event, p))
        self._shown = (self._shown + new)[-MAX_LINES:]

    def _new_since_last(self, events: list[AuditEvent]) -> list[AuditEvent] | None:
        """Events after the last one shown, or None when the history no longer lines up."""
        if not self._shown:
            return events if not events else None
        last = self._shown[-1]
        for index in range(len(events) - 1, -1, -1):
            if events[index] == last:
                return events[index + 1:]
        return None

    def _rewrite(self, events: list[AuditEvent]) -> None:
        self.clear()
        p = Palette.of(self)
        for event in events:
            self.write(event_text(event, p))
        self._shown = events[-MAX_LINES:]

    @property
    def shown(self) -> list[AuditEvent]:
        return list(self._shown)

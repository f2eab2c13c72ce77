"""The audit log: newest at the bottom, one line per event, coloured by level.

It follows new events while its view is at the bottom; once the user scrolls up
it stays where it is and its title counts what arrived since ("3 new ↓").
Scrolling back to the end (End, or down) follows again. Each line says what
changed, before → after, when the event carries it.

With audit signing on (`audit.key_file`), an entry the room could not verify
(`AuditEvent.verified is False`: unsigned, altered or out of the chain) starts
with `?` in the error colour, and the title says what the mark means.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

from app.enums import Level
from app.sanitize import clean
from widgets.formatting import hhmmss
from widgets.palette import Palette

if TYPE_CHECKING:
    from app.model import AuditEvent

MAX_LINES = 500
#: Events whose line ends with `field before → after`: flag edits, kills, restores, experiment status.
STORE_ACTIONS = ("flag", "experiment")
#: One ASCII cell in front of an entry that failed verification (say it in words too: the title and help).
UNVERIFIED_MARK = "?"
UNVERIFIED_LEGEND = f"{UNVERIFIED_MARK} = unverified (unsigned or altered)"


def changes_text(event: AuditEvent) -> str:
    """`enabled true → false, percentage 35 → 0`: only the fields that differ (app.audit's phrase)."""
    if not (event.before or event.after):
        return ""
    from app.audit import describe_changes  # the audit module and its models: not before the first frame

    return clean(describe_changes(event.before, event.after))


def event_text(event: AuditEvent, p: Palette) -> Text:
    """`HH:MM:SS actor target action — reason · field before → after`."""
    colour = p.level(event.level)
    text = Text.assemble(
        (f"{UNVERIFIED_MARK} ", f"bold {p.bad}") if event.verified is False else "",
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
    diff = changes_text(event) if event.action.startswith(STORE_ACTIONS) else ""  # rollout reasons say it already
    if diff:
        text.append(" · ", style=p.muted)
        text.append(diff, style=p.info)
    return text


class EventLog(RichLog):
    """Appends only the events it has not shown yet; follows them unless scrolled up."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; overflow-y: auto; scrollbar-gutter: stable; }
    """

    def __init__(self, title: str = "events", **kwargs: Any) -> None:
        # min_width: RichLog renders at least this wide, which would cut wrapped lines under the scrollbar.
        super().__init__(max_lines=MAX_LINES, wrap=True, markup=False, auto_scroll=False, min_width=10, **kwargs)
        self._shown: list[AuditEvent] = []
        self.title = title
        self.following = True
        self.unseen = 0
        self._width = 0
        self.border_title = title

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._rewrite(self._shown))

    def show(self, events: Sequence[AuditEvent]) -> None:
        events = list(events)
        new = self._new_since_last(events)
        if new is None:
            self._rewrite(events)
            return
        if not new:
            return
        p = Palette.of(self)
        for event in new:
            self.write(event_text(event, p), scroll_end=self.following)
        self._shown = (self._shown + new)[-MAX_LINES:]
        if not self.following:
            self.unseen += len(new)
        self._show_title()

    def _new_since_last(self, events: list[AuditEvent]) -> list[AuditEvent] | None:
        """Events after the last one shown, or None when the history no longer lines up."""
        if not self._shown:
            return events if not events else None
        last = self._shown[-1]
        for index in range(len(events) - 1, -1, -1):
            if events[index] == last:
                return events[index + 1 :]
        return None

    def _rewrite(self, events: list[AuditEvent]) -> None:
        following = self.following
        self.clear()
        p = Palette.of(self)
        for event in events:
            self.write(event_text(event, p), scroll_end=following)
        self._shown = events[-MAX_LINES:]
        self.following = following
        self._show_title()

    def on_resize(self, event: Resize) -> None:
        """Wrapped lines were cut for the old width: lay them out again for the new one."""
        if event.size.width != self._width:
            self._width = event.size.width
            if self._shown:
                self._rewrite(self._shown)

    # ------------------------------------------------------------ following

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        at_end = new_value >= self.max_scroll_y
        if at_end:
            if not self.following or self.unseen:
                self.following = True
                self.unseen = 0
                self._show_title()
        elif new_value < old_value and self.lines:
            self.following = False  # the user went up to read: stay there

    @property
    def unverified(self) -> int:
        """Entries shown that failed verification."""
        return sum(1 for e in self._shown if e.verified is False)

    def _show_title(self) -> None:
        title = f"{self.title}  {self.unseen} new ↓ (End)" if self.unseen else self.title
        bad = self.unverified
        self.border_title = f"{title}  {UNVERIFIED_LEGEND}: {bad}" if bad else title

    def action_scroll_end(self) -> None:
        self.following = True
        super().action_scroll_end()

    @property
    def shown(self) -> list[AuditEvent]:
        return list(self._shown)

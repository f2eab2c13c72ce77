"""The "events" section of the detail pane: the cluster's recent Events about the selected target's
objects, newest first, as `kubectl describe` lists them (Type, Reason, Age, From, Message); Warnings
in the warning colour. Every string came from the cluster and goes through `clean`."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.events import Resize
from textual.widgets import Static

from app.sanitize import clean
from widgets.formatting import truncate
from widgets.static_update import set_content

if TYPE_CHECKING:
    from app.cluster_event import ClusterEvent
    from app.model import Rollout

WIDE = 96  # from this many columns each Event is one row with its message; below, the message goes under it
HEADER = ("Type", "Reason", "Age", "From", "Message")


def kube_age(seconds: float) -> str:
    """kubectl's short ages: `45s`, `4m10s`, `15m`, `2h5m`, `3d`."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 600:
        return f"{s // 60}m{s % 60}s" if s % 60 else f"{s // 60}m"
    if s < 3600:
        return f"{s // 60}m"
    if s < 8 * 3600:
        return f"{s // 3600}h{s % 3600 // 60}m" if s % 3600 // 60 else f"{s // 3600}h"
    return f"{s // 3600}h" if s < 48 * 3600 else f"{s // 86400}d"


def age_of(event: ClusterEvent, now: float | None) -> str:
    """`12s`, or `12s (x3 over 4m10s)` for a series, as kubectl describe shows them ("" for no time)."""
    if now is None or not event.t:
        return "?"
    age = kube_age(now - event.t)
    if event.count > 1 and event.first:
        return f"{age} (x{event.count} over {kube_age(now - event.first)})"
    return f"{age} (x{event.count})" if event.count > 1 else age


def _rows(events: Sequence[ClusterEvent], now: float | None) -> list[tuple[str, str, str, str, str]]:
    return [
        (e.type, clean(e.reason, 40), age_of(e, now), clean(e.controller, 40) or "–", clean(e.message, 1024))
        for e in events
    ]


def events_content(rollout: Rollout | None, now: float | None, width: int = 48) -> Content:
    """One row per Event under a header; below `WIDE` columns the row is Type, Reason and Age, and
    From and the Message follow on the next line (`  deployment-controller: Scaled up …`)."""
    if rollout is None:
        return Content("")
    if rollout.events_unseen:  # the identity may not list them: not "no Events"
        return Content.styled(clean(rollout.events_unseen, 300), "$warning")
    if not rollout.events:
        return Content.styled("no Events about its objects in the last hour", "$text-muted")
    rows = _rows(rollout.events, now)
    wide = width >= WIDE
    cols = 4 if wide else 3  # padded columns; the last one shown runs on
    caps = (7, 24, 24, 28)[:cols]
    widths = [min(max(len(HEADER[i]), *(len(r[i]) for r in rows)), cap) for i, cap in enumerate(caps)]
    if not wide:  # the Reason column gives way (down to 10) before an Age like `2m (x5 over 9m)` is cut
        widths[1] = max(min(10, widths[1]), min(widths[1], width - widths[0] - widths[2] - 4))
    head = _line(HEADER, widths) if wide else f"{_line(HEADER[:3], widths)}\n  From: Message"
    lines = [Content.styled(head, "$text-muted")]
    for row in rows:
        style = "$warning" if row[0] == "Warning" else ""
        if wide:
            lines.append(Content.styled(truncate(_line(row, widths), width), style))
            continue
        lines.append(Content.styled(truncate(_line(row[:3], widths), width), style))
        lines += _wrapped(row[3], row[4], style, width)
    return Content("\n").join(lines)


def _wrapped(source: str, message: str, style: str, width: int) -> list[Content]:
    """`  From: Message`, wrapped to `width` with every line indented; From in the muted colour."""
    text = textwrap.wrap(f"{source}: {message}", max(10, width - 2), break_on_hyphens=False) or [f"{source}:"]
    out = [Content.styled(f"  {line}", style) for line in text]
    head = len(source) + 1
    if len(text[0]) >= head:
        out[0] = Content.assemble("  ", (text[0][:head], "$text-muted"), (text[0][head:], style))
    return out


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    fixed = [truncate(c, w).ljust(w) for c, w in zip(cells, widths, strict=False)]
    return "  ".join([*fixed, *cells[len(widths) :]]).rstrip()


class ObjectEvents(Static):
    """`show(rollout, now)`: the Events of the selected rollout (`Rollout.events`, newest first)."""

    DEFAULT_CSS = """
    ObjectEvents { height: auto; border-top: solid $panel-lighten-2; border-title-align: left; }
    ObjectEvents.-empty { display: none; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)
        self.rollout: Rollout | None = None
        self.now: float | None = None
        self.border_title = "Events"

    def show(self, rollout: Rollout | None, now: float | None) -> None:
        self.rollout, self.now = rollout, now
        self._render_events()

    def on_resize(self, event: Resize) -> None:
        self._render_events()

    def _render_events(self) -> None:
        width = self.content_size.width or 48
        set_content(self, events_content(self.rollout, self.now, width))
        self.set_class(self.rollout is None, "-empty")

    @property
    def text(self) -> str:
        return events_content(self.rollout, self.now, self.content_size.width or 48).plain

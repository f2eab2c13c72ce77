"""Keys that arrive in one burst keep going where the user meant them to.

Textual hands each key to the widget focused when the key *arrives*; a key that
widget does not take bubbles back to the App, whose bindings then run. In a
burst (a paste, a laggy SSH link) every key arrives before the first one's
action has run: in `1/canary` the `/` focuses the filter field only after
`canary` was already handed to the table, so those letters bubbled up, found no
binding and were lost (or worse, `q` in them quit the room, `f` toggled a mode).

An Input takes every printable key it receives, so a printable key that bubbles
up to the App while an Input has the focus was handed out before the focus
moved: it is typed into that Input at once (as the Input itself would type it),
in order, instead of going to the bindings. At once, not posted: an Enter right
behind it must find the text in the field.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import App
from textual.widgets import Input


def misrouted_to(app: App[Any], event: events.Event) -> Input | None:
    """The Input a bubbled printable key belongs to, or None when the key is not misrouted."""
    if not isinstance(event, events.Key) or not event.is_forwarded or not event.is_printable:
        return None
    focused = app.focused
    return focused if isinstance(focused, Input) and not focused.disabled else None


def redeliver(target: Input, event: events.Key) -> None:
    """Type the key's character into `target` as if it had been focused when the key arrived."""
    assert event.character is not None  # printable
    selection = target.selection
    if selection.is_empty:
        target.insert_text_at_cursor(event.character)
    else:
        target.replace(event.character, *selection)

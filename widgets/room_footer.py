"""Textual's Footer, rebuilt only when what it would show changed.

Textual's `Footer` recomposes (removes and mounts every key again, each one
styled from the whole stylesheet) whenever the screen says its bindings were
updated: a focus change, a highlighted row, a tab switch. While the room
starts that happens seven times in a row for the same keys, and a compact
footer then restyles each key once more when its `-compact` class arrives after
mounting. `RoomFooter` recomposes only when the keys it would show differ from
the ones it shows, and gives its keys their class before they are mounted.
What it shows is exactly what `Footer` shows.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class RoomFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._composed: object = None  # what the keys on show were made from

    def _what_it_shows(self) -> object:
        """Everything the footer's compose reads: the shown bindings and their state, its own options."""
        if not self._bindings_ready or not self.is_attached:
            return None
        app = self.app
        keys = tuple(
            (
                binding.key,
                binding.action,
                binding.description,
                binding.tooltip,
                binding.show,
                binding.group,
                app.get_key_display(binding),
                enabled,
                tooltip,
            )
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
        )
        options = (self.compact, self.show_command_palette, self.combine_groups, app.ENABLE_COMMAND_PALETTE)
        return keys, options, app.COMMAND_PALETTE_BINDING

    async def recompose(self) -> None:
        shows = self._what_it_shows()
        if shows is not None and shows == self._composed:
            return
        await super().recompose()

    def compose(self) -> ComposeResult:
        self._composed = self._what_it_shows()
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # What FooterKey's own watcher sets once mounted (the palette key is never bound to the footer's
                # `compact`, so it keeps FooterKey's default); set now, it costs no second styling.
                compact = widget.compact if widget.has_class("-command-palette") else self.compact
                widget.set_class(compact, "-compact", update=False)
            yield widget

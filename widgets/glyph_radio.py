"""A radio button whose selection shows as a glyph (● chosen, ○ not), not only as a colour."""

from __future__ import annotations

from typing import Any

from textual.widgets import RadioButton

ON, OFF = "●", "○"


class GlyphRadioButton(RadioButton):
    """`RadioButton` with a filled or hollow circle: readable without colour (wall monitors, colour blindness)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.BUTTON_INNER = ON if self.value else OFF

    def watch_value(self) -> None:
        self.BUTTON_INNER = ON if self.value else OFF
        super().watch_value()

"""`set_content(static, content)`: change what a Static shows only when it changed, and lay out only when its size did.

`Static.update` always repaints and always asks for a layout of the whole
screen; a snapshot a second that rewrites a clock or a "next check in 12s" line
with it costs a reflow and a repaint of every scrollbar, each second. Here an
unchanged content costs nothing, and a changed one repaints the widget alone
unless the width it wants (`width: auto`) or the height it needs at its current
width (`height: auto`, wrapping) is different from before.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.visual import VisualType, visualize
from textual.widget import Widget
from textual.widgets import Static


def same_content(a: VisualType, b: VisualType) -> bool:
    """The same text with the same styles (`Content.__eq__` compares the text only); other renderables never are."""
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, Content) and isinstance(b, Content):
        return a.plain == b.plain and list(a.spans) == list(b.spans)
    return False


def set_content(widget: Static, content: VisualType) -> bool:
    """Show `content` in `widget`; False when it already showed exactly that (nothing is done)."""
    if same_content(widget.content, content):
        return False
    widget.update(content, layout=_needs_layout(widget, content))
    return True


def _needs_layout(widget: Static, content: VisualType) -> bool:
    """Whether the new content could move anything: only a widget that is laid out can tell."""
    if not widget.is_mounted or not widget.size.area or not widget.content_size.width:
        return True
    old = widget.visual
    new = visualize(widget, content, markup=widget._render_markup)
    container, width = widget.container_size.width, widget.content_size.width
    styles: Any = widget.styles  # what Textual itself hands these methods (typed RulesMap there)
    if _width_follows_content(widget) and (
        old.get_optimal_width(styles, container) != new.get_optimal_width(styles, container)
    ):
        return True
    return old.get_height(styles, width) != new.get_height(styles, width)


def _width_follows_content(widget: Widget) -> bool:
    """`width: auto`, or `1fr` inside a container whose own width is auto (Textual sizes such a one to its content)."""
    width = widget.styles.width
    if width is None or not (width.is_auto or width.is_fraction):
        return False
    if width.is_auto:
        return True
    node = widget.parent
    while isinstance(node, Widget):
        outer = node.styles.width
        if outer is not None and outer.is_auto:
            return True
        node = node.parent
    return False

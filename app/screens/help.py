"""`?`: every key binding of the room, generated from the bindings themselves."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from app.sanitize import clean
from app.screens.binding_list import BoundKey
from widgets.event_log import UNVERIFIED_MARK

GROUP_ORDER = ("Room", "Navigation", "Actions")


def help_content(entries: Sequence[BoundKey], *, read_only: bool) -> Content:
    ordered = sorted(entries, key=lambda e: GROUP_ORDER.index(e.group) if e.group in GROUP_ORDER else 99)
    width = max((len(e.keys_text) for e in ordered), default=4) + 2
    lines: list[Content] = []
    for group, items in groupby(ordered, key=lambda e: e.group):
        if lines:
            lines.append(Content(""))
        lines.append(Content.styled(group, "bold $accent"))
        for entry in items:
            extra = f" — {entry.tooltip}" if entry.tooltip else ""
            if entry.denied:  # on the selected row this identity may not: dimmed, with why
                lines.append(denied_line(entry, width))
                continue
            lines.append(
                Content.assemble(
                    (f"  {entry.keys_text:<{width}}", "bold $warning"),
                    entry.description,
                    (extra, "$text-muted"),
                )
            )
    if read_only:
        lines += [Content(""), Content.styled("Read-only: the action keys are not bound.", "bold $warning")]
    lines += [Content(""), Content.styled("Filter: text or regex, ! in front inverts, Esc clears.", "$text-muted")]
    lines += [
        Content.styled(
            f"Event log: {UNVERIFIED_MARK} in front of an entry = unverified (audit signing on: "
            "unsigned, altered or missing from the chain; `shiftroom audit --verify` says which).",
            "$text-muted",
        )
    ]
    return Content("\n").join(lines)


def denied_line(entry: BoundKey, width: int) -> Content:
    return Content.assemble(
        (f"  {entry.keys_text:<{width}}", "$text-disabled"),
        (entry.description, "$text-disabled"),
        (f" — not allowed here: {clean(entry.denied)}", "$text-muted"),
    )


class HelpScreen(ModalScreen[None]):
    """The key list; Escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > #help-dialog {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    HelpScreen #help-title { text-style: bold; height: 1; margin-bottom: 1; }
    HelpScreen #help-body { height: auto; max-height: 100%; overflow-y: auto; scrollbar-size-vertical: 1; }
    """

    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", id="help-close"),
    ]

    def __init__(self, entries: Sequence[BoundKey], *, read_only: bool = False) -> None:
        super().__init__()
        self.entries = list(entries)
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static("Shiftroom keys", id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(help_content(self.entries, read_only=self.read_only), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)

    @property
    def text(self) -> str:
        return help_content(self.entries, read_only=self.read_only).plain

"""Confirmation for destructive actions: shows exactly what will change; dismissed with the preview.

The safe button has focus first. When the preview names a production target
(`confirm_name`), the confirm button stays disabled until that name is typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from app.sanitize import clean


class ConfirmScreen(ModalScreen[Any]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > #confirm-dialog {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    ConfirmScreen.-safe > #confirm-dialog { border: round $primary; }
    ConfirmScreen #confirm-title { text-style: bold; color: $error; margin-bottom: 1; }
    ConfirmScreen.-safe #confirm-title { color: $primary; }
    ConfirmScreen #confirm-lines { height: auto; margin-bottom: 1; }
    ConfirmScreen #confirm-prompt { height: auto; }
    ConfirmScreen #confirm-name { margin-bottom: 1; }
    ConfirmScreen #confirm-buttons { height: auto; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm-cancel")]

    def __init__(self, preview: Any, refresh: Callable[[], Awaitable[Any]] | None = None, *,
                 action: str = "") -> None:
        super().__init__(classes="" if preview.destructive else "-safe")
        self.preview = preview
        self.repreview = refresh  # re-previews (the room's rewrite of this screen calls it on every snapshot)
        self.action = action
        self.confirm_name: str | None = preview.confirm_name

    def compose(self) -> ComposeResult:
        lines = [clean(line) for line in self.preview.lines] or ["(no change listed)"]
        with Vertical(id="confirm-dialog"):
            yield Static(clean(self.preview.title), id="confirm-title", markup=False)
            yield Static(Content("\n").join(Content.assemble(("• ", "$warning"), line) for line in lines),
                         id="confirm-lines")
            if self.confirm_name:
                yield Static(
                    Content.assemble("This is production. Type ", (clean(self.confirm_name), "bold $warning"),
                                     " to confirm:"),
                    id="confirm-prompt",
                )
                yield Input(placeholder=self.confirm_name, id="confirm-name")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="default")
                yield Button(
                    (self.action or "Confirm").capitalize(),
                    id="confirm",
                    variant="error" if self.preview.destructive else "primary",
                    disabled=bool(self.confirm_name),
                )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Input.Changed, "#confirm-name")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value.strip() != self.confirm_name

    @on(Input.Submitted, "#confirm-name")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.confirm_name:
            self.dismiss(self.preview)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if self.confirm_name and self.query_one("#confirm-name", Input).value.strip() != self.confirm_name:
            return
        self.dismiss(self.preview)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

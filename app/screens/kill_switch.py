"""The kill switch confirmation: exactly what changes, the flag's name typed, and a reason.

It dismisses with the reason (the caller then executes the engine's `KillFlag`)
or with None. Cancel has focus first; Kill stays disabled until the typed
name matches and a reason is given.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class KillSwitchScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    KillSwitchScreen { align: center middle; }
    KillSwitchScreen > #kill-dialog {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    KillSwitchScreen #kill-title { text-style: bold; color: $error; margin-bottom: 1; }
    KillSwitchScreen .kill-section { text-style: bold; color: $text-muted; height: 1; }
    KillSwitchScreen #kill-changes, KillSwitchScreen #kill-impact { height: auto; margin-bottom: 1; }
    KillSwitchScreen .kill-prompt { height: 1; }
    KillSwitchScreen Input { margin-bottom: 1; }
    KillSwitchScreen #kill-buttons { height: auto; align-horizontal: right; }
    KillSwitchScreen Button { margin-left: 2; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="kill-cancel")]

    def __init__(self, name: str, changes: Sequence[str], impact: Sequence[str]) -> None:
        super().__init__()
        self.flag_name = name
        self.changes = list(changes)
        self.impact = list(impact)

    def compose(self) -> ComposeResult:
        bullet = ("• ", "$warning")
        with Vertical(id="kill-dialog"):
            yield Static(Content.assemble("Kill flag ", (self.flag_name, "bold"),
                                          "? It turns off for every user in every environment."), id="kill-title")
            yield Static("what changes in the stored JSON", classes="kill-section")
            yield Static(Content("\n").join(Content.assemble(bullet, line) for line in self.changes)
                         or Content.styled("nothing: it is already off", "$text-muted"), id="kill-changes")
            yield Static("who has it", classes="kill-section")
            yield Static(Content("\n").join(Content.assemble(bullet, line) for line in self.impact), id="kill-impact")
            yield Label(Content.assemble("Type ", (self.flag_name, "bold $warning"), " to confirm:"),
                        classes="kill-prompt")
            yield Input(placeholder=self.flag_name, id="kill-name")
            yield Label("Reason, for the audit log:", classes="kill-prompt")
            yield Input(placeholder="why, e.g. checkout errors after deploy", id="kill-reason")
            with Horizontal(id="kill-buttons"):
                yield Button("Cancel", id="kill-cancel-button")
                yield Button("Kill", id="kill-confirm", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#kill-cancel-button", Button).focus()

    @property
    def ready(self) -> bool:
        return (self.query_one("#kill-name", Input).value.strip() == self.flag_name
                and bool(self.query_one("#kill-reason", Input).value.strip()))

    @on(Input.Changed)
    def _typed(self) -> None:
        self.query_one("#kill-confirm", Button).disabled = not self.ready

    @on(Input.Submitted)
    @on(Button.Pressed, "#kill-confirm")
    def _confirm(self) -> None:
        if self.ready:
            self.dismiss(self.query_one("#kill-reason", Input).value.strip())

    @on(Button.Pressed, "#kill-cancel-button")
    def action_cancel(self) -> None:
        self.dismiss(None)

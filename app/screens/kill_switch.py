"""The kill switch confirmation: exactly what changes, the flag's name typed, and a reason.

It dismisses with the reason (the caller then executes the engine's `KillFlag`)
or with None. The name field has focus first, so typing goes into it; it
shows no placeholder that could pass for the name. Kill stays disabled until
the typed name matches and a reason is given; Enter on an empty or wrong name
does nothing but say what is expected.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from app.sanitize import clean


class KillSwitchScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    KillSwitchScreen { align: center middle; }
    KillSwitchScreen > #kill-dialog {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    KillSwitchScreen #kill-title { text-style: bold; color: $error; margin-bottom: 1; height: auto; }
    KillSwitchScreen #kill-body { height: auto; max-height: 1fr; scrollbar-size-vertical: 1; }
    KillSwitchScreen .kill-section { text-style: bold; color: $text-muted; height: 1; }
    KillSwitchScreen #kill-changes, KillSwitchScreen #kill-impact { height: auto; margin-bottom: 1; }
    KillSwitchScreen .kill-prompt { height: 1; }
    KillSwitchScreen Input { margin-bottom: 0; }
    KillSwitchScreen #kill-hint { height: auto; min-height: 1; color: $text-muted; }
    KillSwitchScreen #kill-hint.-problem { color: $warning; text-style: bold; }
    KillSwitchScreen #kill-buttons { height: auto; align-horizontal: right; }
    KillSwitchScreen Button { margin-left: 2; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="kill-cancel")]

    def __init__(self, name: str, changes: Sequence[str], impact: Sequence[str]) -> None:
        super().__init__()
        self.flag_name = name
        self.shown_name = clean(name)  # what the user sees, and may type (a name with odd characters escaped)
        self.changes = list(changes)
        self.impact = list(impact)

    def compose(self) -> ComposeResult:
        bullet = ("• ", "$warning")
        with Vertical(id="kill-dialog"):
            yield Static(
                Content.assemble(
                    "Kill flag ", (self.shown_name, "bold"), "? It turns off for every user in every environment."
                ),
                id="kill-title",
            )
            with VerticalScroll(id="kill-body"):
                yield Static("what changes in the stored JSON", classes="kill-section")
                yield Static(
                    Content("\n").join(Content.assemble(bullet, clean(line)) for line in self.changes)
                    or Content.styled("nothing: it is already off", "$text-muted"),
                    id="kill-changes",
                )
                yield Static("who has it", classes="kill-section")
                yield Static(
                    Content("\n").join(Content.assemble(bullet, clean(line)) for line in self.impact), id="kill-impact"
                )
            yield Label(
                Content.assemble("Type ", (self.shown_name, "bold $warning"), " to confirm:"), classes="kill-prompt"
            )
            yield Input(placeholder="type the flag's name here", id="kill-name", select_on_focus=False)
            yield Label("Reason, for the audit log:", classes="kill-prompt")
            yield Input(placeholder="why, e.g. checkout errors after deploy", id="kill-reason")
            yield Static("", id="kill-hint")
            with Horizontal(id="kill-buttons"):
                yield Button("Cancel", id="kill-cancel-button")
                yield Button("Kill", id="kill-confirm", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#kill-name", Input).focus()  # typing goes straight into the name
        self._hint()
        self.call_after_refresh(self._fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """What changes scrolls; the name, the reason and the buttons stay on screen at 80x24."""
        dialog, body = self.query_one("#kill-dialog"), self.query_one("#kill-body")
        chrome = 2 + sum(
            child.outer_size.height + child.styles.margin.top + child.styles.margin.bottom
            for child in dialog.children
            if child is not body
        )
        body.styles.max_height = max(2, self.size.height - chrome)

    @property
    def name_ok(self) -> bool:
        typed = self.query_one("#kill-name", Input).value.strip()
        return typed in (self.flag_name, self.shown_name)

    @property
    def reason(self) -> str:
        return self.query_one("#kill-reason", Input).value.strip()

    @property
    def ready(self) -> bool:
        return self.name_ok and bool(self.reason)

    def _hint(self, problem: str = "") -> None:
        hint = self.query_one("#kill-hint", Static)
        hint.set_class(bool(problem), "-problem")
        if problem:
            hint.update(problem)
        elif self.ready:
            hint.update("Enter or Kill turns the flag off now; Esc cancels.")
        else:
            hint.update("Type the name and a reason to enable Kill; Esc cancels.")

    def _missing(self) -> str:
        """What is still needed, as one sentence ("" when ready)."""
        typed = self.query_one("#kill-name", Input).value.strip()
        if not typed:
            return f"Type the flag's name, {self.shown_name}, to confirm; nothing was killed."
        if not self.name_ok:
            return f"{clean(typed)!r} is not the flag's name: type {self.shown_name} exactly; nothing was killed."
        if not self.reason:
            return "Give a reason for the audit log; nothing was killed yet."
        return ""

    @on(Input.Changed)
    def _typed(self) -> None:
        self.query_one("#kill-confirm", Button).disabled = not self.ready
        self._hint()

    @on(Input.Submitted, "#kill-name")
    def _name_submitted(self) -> None:
        problem = self._missing()
        if self.name_ok and not self.reason:
            self.query_one("#kill-reason", Input).focus()
            self._hint()
        elif problem:
            self._hint(problem)
        else:
            self.dismiss(self.reason)

    @on(Input.Submitted, "#kill-reason")
    @on(Button.Pressed, "#kill-confirm")
    def _confirm(self) -> None:
        problem = self._missing()
        if problem:
            self._hint(problem)
            if not self.name_ok:
                self.query_one("#kill-name", Input).focus()
            return
        self.dismiss(self.reason)

    @on(Button.Pressed, "#kill-cancel-button")
    def action_cancel(self) -> None:
        self.dismiss(None)

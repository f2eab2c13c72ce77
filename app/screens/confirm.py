"""Confirmation for destructive actions: shows exactly what will change, live.

`ConfirmScreen(preview, refresh)` stays current while it is open: with every
snapshot the App posts (`Snapshot`), it awaits `refresh()` for a fresh preview
and shows that, so the weights in the dialog are the weights now, and a change
that no longer applies says so and cannot be confirmed. It dismisses with the
preview last shown (the one the user confirmed; the engine refuses it if the
state moved on after all), or None on cancel.

A non-production confirmation focuses the safe button first. When the preview
names a production target (`confirm_name`), the name field has focus, shows
no placeholder that could pass for a typed name, and Enter on an empty or
wrong name does nothing but say what is expected.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Static

from app.sanitize import clean
from app.screens.snapshot import Snapshot

REFRESH_FLOOR = 1.0  # real seconds between two refreshes of an open confirmation's preview

PreviewLike = Any  # app.control.commands.Preview (and the older action previews): title, lines, possible, ...
Refresh = Callable[[], Awaitable[PreviewLike]]


def lines_content(preview: PreviewLike) -> Content:
    lines = [clean(line) for line in preview.lines] or ["(no change listed)"]
    return Content("\n").join(Content.assemble(("• ", "$warning"), line) for line in lines)


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
    ConfirmScreen #confirm-lines { height: auto; }
    ConfirmScreen #confirm-live { height: auto; color: $text-muted; margin-bottom: 1; }
    ConfirmScreen #confirm-live.-changed { color: $warning; text-style: bold; }
    ConfirmScreen #confirm-prompt { height: auto; }
    ConfirmScreen #confirm-name { margin-bottom: 0; }
    ConfirmScreen #confirm-hint { height: auto; color: $text-muted; margin-bottom: 1; }
    ConfirmScreen #confirm-hint.-wrong { color: $error; text-style: bold; }
    ConfirmScreen #confirm-buttons { height: auto; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm-cancel")]

    def __init__(self, preview: PreviewLike, refresh: Refresh | None = None, *, action: str = "") -> None:
        super().__init__(classes="" if preview.destructive else "-safe")
        self.preview = preview
        self.refresh_preview = refresh
        self.action = action
        self.confirm_name: str | None = preview.confirm_name
        self.refreshes = 0  # fresh previews received (tests)
        self._refreshed_at = -REFRESH_FLOOR  # real time of the last refresh started
        self._refresh_due: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(clean(self.preview.title), id="confirm-title", markup=False)
            yield Static(lines_content(self.preview), id="confirm-lines")
            yield Static(self._live_text(), id="confirm-live")
            if self.confirm_name:
                name = clean(self.confirm_name)
                yield Static(
                    Content.assemble("This is production. Type ", (name, "bold $warning"), " to confirm:"),
                    id="confirm-prompt",
                )
                yield Input(placeholder="", id="confirm-name")
                yield Static(self._expected(), id="confirm-hint")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="default")
                yield Button(
                    (self.action or "Confirm").capitalize(),
                    id="confirm",
                    variant="error" if self.preview.destructive else "primary",
                    disabled=bool(self.confirm_name) or not self.possible,
                )

    def on_mount(self) -> None:
        if self.confirm_name:
            self.query_one("#confirm-name", Input).focus()  # typing goes straight into the name
        else:
            self.query_one("#cancel", Button).focus()  # the safe button first

    # ------------------------------------------------------------ live preview

    @property
    def possible(self) -> bool:
        return bool(getattr(self.preview, "possible", True))

    def _live_text(self) -> str:
        if not self.possible:
            return "This no longer applies: the state changed while this was open."
        return "Live: kept up to date while open." if self.refresh_preview else ""

    def on_snapshot(self, message: Snapshot) -> None:
        """At most one refresh per `REFRESH_FLOOR` real seconds, the last snapshot's always: the engine may
        publish ten snapshots a second, and a preview can cost a read and a cohort count."""
        if self.refresh_preview is None or self._refresh_due is not None:
            return
        wait = self._refreshed_at + REFRESH_FLOOR - time.monotonic()
        if wait <= 0:
            self._refresh_now()
        else:
            self._refresh_due = self.set_timer(wait, self._refresh_now)

    def _refresh_now(self) -> None:
        self._refresh_due = None
        self._refreshed_at = time.monotonic()
        self.run_refresh()

    @work(exclusive=True, group="confirm-refresh", exit_on_error=False)
    async def run_refresh(self) -> None:
        if self.refresh_preview is None:
            return
        try:
            fresh = await self.refresh_preview()
        except Exception as error:  # shown, and the change cannot be confirmed on an unknown state
            self._show_live(f"The preview could not be refreshed: {clean(error)}", changed=True)
            self.query_one("#confirm", Button).disabled = True
            return
        self.show_preview(fresh)

    def show_preview(self, fresh: PreviewLike) -> None:
        """Show `fresh` in place of the preview on screen; a change is pointed out."""
        self.refreshes += 1
        changed = (tuple(fresh.lines), fresh.title, getattr(fresh, "possible", True)) != (
            tuple(self.preview.lines),
            self.preview.title,
            self.possible,
        )
        self.preview = fresh
        if not self.is_mounted:
            return
        self.query_one("#confirm-title", Static).update(clean(fresh.title))
        self.query_one("#confirm-lines", Static).update(lines_content(fresh))
        if not self.possible:
            reason = clean(fresh.lines[0]).rstrip(".") if fresh.lines else "the state changed"
            self._show_live(f"This no longer applies: {reason}. Esc closes.", changed=True)
        elif changed:
            self._show_live(
                "Updated: the state changed while this was open; the lines above say what confirming does now.",
                changed=True,
            )
        self._update_confirm()

    def _show_live(self, text: str, *, changed: bool) -> None:
        live = self.query_one("#confirm-live", Static)
        live.update(text)
        live.set_class(changed, "-changed")

    # ------------------------------------------------------------ the typed name

    def _expected(self) -> str:
        return f"Type {clean(self.confirm_name or '')} exactly, then Enter; Esc cancels."

    def _name_ok(self) -> bool:
        if not self.confirm_name:
            return True
        return self.query_one("#confirm-name", Input).value.strip() == self.confirm_name

    def _update_confirm(self) -> None:
        self.query_one("#confirm", Button).disabled = not (self.possible and self._name_ok())
        if not self.confirm_name:
            return
        # Nothing to confirm any more: no prompt asking for the name (it came back if the change applies again).
        for part in ("#confirm-prompt", "#confirm-name", "#confirm-hint"):
            self.query_one(part).display = self.possible
        if not self.possible and isinstance(self.focused, Input):
            self.query_one("#cancel", Button).focus()

    @on(Input.Changed, "#confirm-name")
    def _typed(self, event: Input.Changed) -> None:
        self._update_confirm()
        hint = self.query_one("#confirm-hint", Static)
        hint.remove_class("-wrong")
        hint.update(self._expected())

    @on(Input.Submitted, "#confirm-name")
    def _submitted(self, event: Input.Submitted) -> None:
        self._confirm()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if not self.possible:
            self._show_live("This no longer applies; nothing was done. Esc closes.", changed=True)
            return
        if not self._name_ok():
            typed = self.query_one("#confirm-name", Input).value.strip()
            hint = self.query_one("#confirm-hint", Static)
            said = "Nothing typed yet" if not typed else f"{clean(typed)!r} is not the name"
            hint.update(f"{said}: type {clean(self.confirm_name or '')} exactly to confirm, or Esc to cancel.")
            hint.add_class("-wrong")
            return
        self.dismiss(self.preview)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

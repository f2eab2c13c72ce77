"""One line about an experiment's counter rebuild, with a progress bar while it runs.

    rebuilding counters 12 000 / 100 000 event lists   ━━━━━━━━━━━━━━━━━━━━━━━╸━━━━━━  12%

It shows what it is given (plain numbers and sentences) and nothing when
there is nothing to say; it never reads a backend.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import ProgressBar, Static

IDLE_TOTAL = 100  # the hidden bar's total: any number, so that it is not the animated indeterminate bar


def count_text(n: int) -> str:
    """12000 → "12 000"."""
    return f"{n:,}".replace(",", " ")


def progress_line(done: int, total: int) -> str:
    if total <= 0:
        return "rebuilding counters: counting event lists…"
    return f"rebuilding counters {count_text(done)} / {count_text(total)} event lists"


class RebuildProgress(Horizontal):
    """`show(running=..., done=..., total=..., error=..., note=...)`; hidden when all are empty."""

    DEFAULT_CSS = """
    RebuildProgress { height: auto; margin-top: 1; display: none; }
    RebuildProgress.-shown { display: block; }
    RebuildProgress > #rebuild-line { width: auto; max-width: 1fr; height: auto; }
    RebuildProgress > ProgressBar { width: 1fr; height: 1; margin-left: 2; display: none; }
    RebuildProgress.-running > ProgressBar { display: block; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""  # what the line says, as plain text (tests, logs)
        self._shown: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="rebuild-line")
        # Determinate while hidden: an indeterminate bar animates (15 refreshes a second) even when not displayed.
        yield ProgressBar(total=IDLE_TOTAL, show_eta=False, id="rebuild-bar")

    def on_mount(self) -> None:
        self.show(**self._shown)

    def show(
        self,
        *,
        running: bool = False,
        done: int = 0,
        total: int = 0,
        error: str = "",
        note: str = "",
        warn: bool = False,
    ) -> None:
        self._shown = dict(running=running, done=done, total=total, error=error, note=note, warn=warn)
        if running:
            self.text, content = progress_line(done, total), None
        elif error:
            self.text, content = error, Content.assemble(("⚠ ", "bold $error"), (error, "$error"))
        else:
            self.text, content = note, None
            if note:
                content = Content.styled(note, "$warning" if warn else "$text-muted")
        self.set_class(bool(self.text), "-shown")
        self.set_class(running, "-running")
        if not self.is_mounted:
            return
        line = self.query_one("#rebuild-line", Static)
        line.update(content if content is not None else Content(self.text))
        bar = self.query_one(ProgressBar)
        if running:
            bar.update(total=total if total > 0 else None, progress=done)
        elif bar.total != IDLE_TOTAL:
            bar.update(total=IDLE_TOTAL, progress=0)

"""The flag editor: fields with their reasons, a cohort preview, a diff before saving.

Opened on the Flags tab with `e` (edit the selected flag) or `n` (new
flag). Every edit revalidates and recomputes, in thread workers, how many
of a sample of user ids gain or lose the flag in the chosen environment,
and (when the bucketing changes) the 100-bucket histogram of a million
ids. Saving takes the engine's path, like every other write: the engine's
preview of the `SaveFlag` command (the diff and cohort it will write, from one
stored version) is shown in the standard confirmation (`ConfirmScreen`, kept
live while open), then `engine.execute(command, confirmed=preview)`. When
someone else saved meanwhile (before the preview, while it is open, or between
it and the confirmation), nothing is written: their change is shown, the edits
stay, rebased on the new version, and the confirmation opens again on the
fresh preview.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Rule, Static

from app.audit import describe_changes
from app.control.commands import NEW_VERSION as NEW
from app.control.commands import Preview, SaveFlag
from app.control.commands import Result as StoreResult
from app.control.flag_edits import diff_lines, parse_user_ids
from app.flags import bucket_histogram, cohort_diff
from app.screens.confirm import ConfirmScreen
from widgets.cohort_preview import CohortPreview
from widgets.flag_form import FlagForm

HISTOGRAM_IDS = 1_000_000
#: Times a save is rebased on someone else's newer version before the editor gives up for now.
REBASES = 4
MAX_FILE_IDS = 1_000_000


class HistogramReady(Message):
    def __init__(self, key: tuple[str, str], hist: list[int]) -> None:
        super().__init__()
        self.key = key
        self.hist = hist


class CohortReady(Message):
    def __init__(self, token: int, gain: int, lose: int, total: int, label: str, problem: str = "") -> None:
        super().__init__()
        self.token, self.gain, self.lose, self.total = token, gain, lose, total
        self.label, self.problem = label, problem


def read_ids(path: str) -> list[str]:
    """User ids from a file, one per line (or comma separated); OSError says why not."""
    text = Path(path).expanduser().read_text(encoding="utf-8", errors="replace")
    return parse_user_ids(text)[:MAX_FILE_IDS]


class FlagEditorScreen(ModalScreen[StoreResult | None]):
    DEFAULT_CSS = """
    FlagEditorScreen { align: center middle; }
    FlagEditorScreen > #editor-dialog {
        width: 150; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    FlagEditorScreen #editor-title { text-style: bold; color: $primary; height: 1; }
    FlagEditorScreen #editor-body { height: auto; max-height: 1fr; scrollbar-size-vertical: 1; }
    FlagEditorScreen #editor-conflict { display: none; height: auto; color: $warning; text-style: bold;
                                        border-left: thick $warning; padding-left: 1; margin: 1 0 0 0; }
    FlagEditorScreen.-conflict #editor-conflict { display: block; }
    FlagEditorScreen #editor-form { margin-top: 1; }
    FlagEditorScreen Rule { margin: 0; color: $panel-lighten-2; }
    FlagEditorScreen .section { color: $text-muted; text-style: bold; height: 1; }
    FlagEditorScreen #editor-footer { height: auto; margin-top: 1; }
    FlagEditorScreen #editor-status { width: 1fr; height: auto; }
    FlagEditorScreen #editor-buttons { width: auto; height: auto; }
    FlagEditorScreen #editor-keys { height: 1; color: $text-muted; text-align: right; }
    FlagEditorScreen Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="editor-cancel"),
        Binding("ctrl+s", "review", "Review & save", id="editor-save"),
    ]
    #: Shown under the buttons, so the keys are on screen even where the footer is cut.
    KEYS_HINT = "tab next field · ctrl+s review & save · esc cancel"

    def __init__(
        self,
        engine: Any,
        name: str,
        raw: dict[str, Any] | None,
        version: str,
        *,
        sample_ids: list[str],
        sample_label: str,
        new: bool = False,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.flag_name = name
        self.base: dict[str, Any] = dict(raw or {})
        self.version = NEW if new else version
        self.new = new
        self.sample_ids = sample_ids
        self.sample_label = sample_label
        envs = self.base.get("environments")
        self.environment = envs[0] if isinstance(envs, list) and envs and isinstance(envs[0], str) else "production"
        self._token = 0
        self._hist_key: tuple[str, str] | None = None
        self._hist: list[int] | None = None
        self.last_cohort: tuple[int, int, int] | None = None  # gain, lose, total (tests read it)

    def compose(self) -> ComposeResult:
        title = "New flag" if self.new else f"Edit flag {self.flag_name}"
        with Vertical(id="editor-dialog"):
            yield Static(title, id="editor-title", markup=False)
            with VerticalScroll(id="editor-body"):
                yield Static("", id="editor-conflict")
                yield FlagForm(self.base, new=self.new, name_value="" if self.new else self.flag_name, id="editor-form")
                yield Rule()
                yield Static("cohort preview: who gains or loses the flag with this change", classes="section")
                yield CohortPreview(self.environment, self.sample_label, id="editor-preview")
            with Horizontal(id="editor-footer"):
                yield Static("", id="editor-status")
                with Horizontal(id="editor-buttons"):
                    yield Button("Cancel", id="editor-cancel-button")
                    yield Button("Review & save", id="editor-save-button", variant="primary")
            yield Static(self.KEYS_HINT, id="editor-keys")
        yield Footer()

    #: Rows around the scrolling body: border, title, button row and its margin, key hint, footer.
    CHROME_ROWS = 9

    def on_mount(self) -> None:
        self.query_one("#field-name" if self.new else "#field-enabled").focus()
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The body scrolls, the buttons stay on screen: at 80x24 as at 160x45."""
        self.query_one("#editor-body").styles.max_height = max(3, self.size.height - self.CHROME_ROWS)

    @property
    def form(self) -> FlagForm:
        return self.query_one(FlagForm)

    @property
    def preview(self) -> CohortPreview:
        return self.query_one(CohortPreview)

    @property
    def name_now(self) -> str:
        return self.form.flag_name if self.new else self.flag_name

    # ------------------------------------------------------------ recompute

    @on(FlagForm.Changed)
    @on(CohortPreview.Changed)
    def _changed(self, event: Message) -> None:
        event.stop()
        if not self.form.is_mounted or not self.preview.is_mounted:
            return
        errors = self.form.errors
        if errors:
            self._status(
                Content.styled(
                    f"{len(errors)} problem{'s' if len(errors) > 1 else ''}: the reasons are next to the fields.",
                    "$error",
                )
            )
        else:
            changes = diff_lines(self.base, self.form.config)
            text = f"{len(changes)} field{'s' if len(changes) != 1 else ''} changed" if changes else "no change yet"
            stored = self.form.stored_errors
            if stored:
                text += (
                    f"; stored {'values' if len(stored) > 1 else 'value'} of {', '.join(stored)} invalid, "
                    "kept as stored unless changed"
                )
            self._status(Content.styled(text, "$warning" if stored else "$text-muted"))
        self._token += 1
        self.compute_cohort(
            self._token,
            dict(self.base),
            dict(self.form.config),
            self.name_now,
            self.preview.environment,
            self.preview.source,
            self.preview.pasted,
            self.preview.path,
        )
        config = self.form.config
        bucketing = "flag-salted" if config.get("bucketing") == "flag-salted" else "seed"
        key = (bucketing, self.name_now if bucketing == "flag-salted" else "")
        if key != self._hist_key:
            self._hist_key, self._hist = key, None
            self.preview.show_histogram(None, 0, 0)
            self.compute_histogram(key)
        else:
            self._show_histogram()

    def _status(self, content: Content) -> None:
        self.query_one("#editor-status", Static).update(content)

    @work(thread=True, exclusive=True, group="flag-cohort", exit_on_error=False)
    def compute_cohort(
        self,
        token: int,
        before: dict[str, Any],
        after: dict[str, Any],
        name: str,
        environment: str,
        source: str,
        pasted: str,
        path: str,
    ) -> None:
        if source == "paste":
            ids, label = parse_user_ids(pasted), "pasted"
            if not ids:
                problem = "Paste user ids, one per line or comma separated."
                self.post_message(CohortReady(token, 0, 0, 0, label, problem))
                return
        elif source == "file":
            if not path:
                self.post_message(CohortReady(token, 0, 0, 0, "file", "Type the path of a file of user ids."))
                return
            try:
                ids, label = read_ids(path), Path(path).name
            except OSError as err:
                self.post_message(CohortReady(token, 0, 0, 0, "file", f"Cannot read {path}: {err.strerror or err}."))
                return
        else:
            ids, label = self.sample_ids, self.sample_label
        gain, lose = cohort_diff(before, after, ids, environment or None, name or None)
        self.post_message(CohortReady(token, gain, lose, len(ids), label))

    @work(thread=True, exclusive=True, group="flag-histogram", exit_on_error=False)
    def compute_histogram(self, key: tuple[str, str]) -> None:
        bucketing, name = key
        hist = bucket_histogram(HISTOGRAM_IDS, name=name or None, bucketing=bucketing)
        self.post_message(HistogramReady(key, hist))

    def on_cohort_ready(self, message: CohortReady) -> None:
        if message.token != self._token or not self.preview.is_mounted:
            return  # a newer edit is being computed
        if message.problem:
            self.last_cohort = None
            self.preview.show_problem(message.problem)
            return
        self.last_cohort = (message.gain, message.lose, message.total)
        self.preview.show_result(message.gain, message.lose, message.total, message.label)

    def on_histogram_ready(self, message: HistogramReady) -> None:
        if message.key == self._hist_key:
            self._hist = message.hist
            self._show_histogram()

    def _show_histogram(self) -> None:
        if self._hist is not None:
            self.preview.show_histogram(self._hist, self.base.get("percentage"), self.form.config.get("percentage"))

    # ------------------------------------------------------------ saving

    @on(Button.Pressed, "#editor-save-button")
    def action_review(self) -> None:
        if any(w.group == "flag-save" and w.is_running for w in self.workers):
            return
        self.run_save()

    @work(group="flag-save", exit_on_error=False)
    async def run_save(self) -> None:
        form = self.form
        form.recompute()
        if form.errors:
            self.notify(" ".join(form.errors.values()), title="Not saved", severity="error", timeout=8)
            return
        name = self.name_now
        if not diff_lines(self.base, form.config) and not self.new:
            self.notify(f"Flag {name}: nothing changed.", timeout=3)
            return
        try:
            await self._save_through_engine()
        except Exception as error:  # one sentence, never a traceback
            self.notify(f"Flag {name} was not saved: {error}", severity="error", timeout=8)

    async def _save_through_engine(self) -> None:
        """The engine's path, as every other write: preview, the standard confirmation (live), execute with it.

        A save whose flag moved on meanwhile is refused by the engine; the edits are then
        rebased on the new version and the confirmation opens again on the fresh preview.
        """
        for _ in range(REBASES):
            command = SaveFlag(self.name_now, dict(self.form.config), self.version)
            preview = await self._engine_preview(command)
            if self._moved(preview):  # someone saved since the editor read the flag: rebase first
                if not await self._rebase():
                    return
                continue
            if not preview.possible:
                self.notify(
                    preview.lines[0] if preview.lines else f"Flag {command.name} cannot be saved now.",
                    title="Not saved",
                    severity="error",
                    timeout=8,
                )
                return
            dialog = ConfirmScreen(preview, refresh=partial(self._engine_preview, command), action="save")
            confirmed = await self.app.push_screen_wait(dialog)
            if confirmed is None:
                if self._moved(dialog.preview):  # it stopped applying while open: show what changed
                    await self._rebase()
                return
            result: StoreResult = await self.engine.execute(command, confirmed=confirmed)
            if result.ok:
                self.dismiss(result)
                return
            if not result.stale:
                if result.details.get("errors"):
                    self.form.show_errors(result.details["errors"])
                self.notify(result.message, title="Not saved", severity="error", timeout=8)
                return
            self.notify(result.message, title=f"Flag {command.name} not saved", severity="warning", timeout=8)
            if "current" in result.details:
                self.show_conflict(result)
        self.notify(
            f"Flag {self.name_now} kept changing while it was being saved; nothing was written, try again.",
            severity="error",
            timeout=8,
        )

    def _moved(self, preview: Preview) -> bool:
        """The stored flag is no longer the version this editor read (so a save of it would be refused)."""
        return not self.new and bool(preview.version) and preview.version != self.version

    async def _rebase(self) -> bool:
        """Show what someone else changed and take their version as the base; False when it cannot be read."""
        read = await self.engine.desk.read_flag(self.flag_name)
        if read.error or read.config is None:
            self.notify(read.error or f"Flag {self.flag_name} no longer exists.", severity="error", timeout=8)
            return False
        change = describe_changes(self.base, read.config) or "it was rewritten with the same values"
        self.show_conflict(
            StoreResult(
                False,
                f"Flag {self.flag_name} was changed since you opened it ({change}).",
                stale=True,
                details={"current": read.config, "version": read.version, "other_change": change},
            )
        )
        return True

    async def _engine_preview(self, command: SaveFlag) -> Preview:
        """The engine's preview of the save (what the confirmation shows and refreshes), with `_with_sample`."""
        preview: Preview = await self.engine.preview(command)
        return self._with_sample(preview)

    def _with_sample(self, preview: Preview) -> Preview:
        """The engine's preview, plus what the editor's own sample says when it is not the engine's (pasted
        ids or a file of them)."""
        if self.last_cohort is None or self.preview.source == "experiments":
            return preview
        gain, lose, total = self.last_cohort
        line = (
            f"in {self.preview.environment or '(no environment)'}: +{gain:,} gain, −{lose:,} lose "
            f"of {total:,} {self.preview.source} ids"
        )
        return dataclasses.replace(preview, lines=(*preview.lines, line))

    def show_conflict(self, result: StoreResult) -> None:
        """Someone else saved first: show their change, keep the edits, rebase on their version."""
        self.base = dict(result.details.get("current") or {})
        self.version = result.details.get("version") or NEW
        self.query_one("#editor-conflict", Static).update(
            Content(f"{result.message} Your edits are kept; Review & save now compares them with the new version.")
        )
        self.add_class("-conflict")
        self.form.set_base(self.base)
        self.form.recompute()  # now, not after the next refresh: the rebased save is previewed at once

    @property
    def unsaved(self) -> list[str]:
        """What closing now would throw away: the diff of the typed fields (and a typed name for a new flag)."""
        lines = diff_lines(self.base, self.form.config) if self.form.is_mounted else []
        if self.new and self.form.is_mounted and self.form.flag_name:
            lines.insert(0, f"name: {self.form.flag_name}")
        return lines

    @on(Button.Pressed, "#editor-cancel-button")
    def action_cancel(self) -> None:
        """Close; with unsaved changes, ask first (Esc is easy to press by accident)."""
        lines = self.unsaved
        if not lines:
            self.dismiss(None)
            return
        what = "the new flag" if self.new else f"flag {self.flag_name}"
        preview = Preview(
            SaveFlag(self.flag_name, self.form.config, self.version),
            f"Discard your changes to {what}?",
            (*lines, "nothing is saved"),
            destructive=True,
        )

        def closed(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen(preview, action="discard"), closed)

"""The main screen with the write keys bound: rollout actions, flag edits, the kill switch.

A key asks the engine for a preview; a destructive preview needs confirmation
(typing the target's name in production); then the engine acts and the result
shows as a toast. On the Flags tab `e` edits the selected flag, `n` creates
one and `K` kills one (typed name and a reason); on the Experiments tab `x`
pauses or resumes the selected experiment and `r` rebuilds its counters from
the seed's own event lists (Redis only), in the background. In read-only mode the App uses
`MainScreen`, so none of these keys is bound at all.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual import work
from textual.binding import Binding

from app.control import store_ops
from app.control.cohorts import experiment_user_ids, kill_impact
from app.control.commands import Preview, Result, RolloutCommand, SetExperimentStatus, Verb
from app.screens.confirm import ConfirmScreen
from app.screens.flag_editor import FlagEditorScreen
from app.screens.kill_switch import KillSwitchScreen
from app.screens.main import MainScreen, RebuildChanged
from widgets.experiments_list import ExperimentsList
from widgets.flags_list import FlagsList

ACTION_BINDINGS = [
    Binding("s", "act('step')", "Step", id="step", tooltip="canary: go to the next weight now"),
    Binding("p", "act('promote')", "Promote", id="promote", tooltip="send all traffic to the canary and finish"),
    Binding("space", "pause_resume", "Pause", id="pause-resume", tooltip="pause or resume the analysis"),
    Binding("a", "act('abort')", "Abort", id="abort", tooltip="roll back: 100% stable, canary scaled to 0"),
    Binding("b", "act('switch')", "Switch", id="switch", tooltip="blue-green: switch to the idle colour, or back"),
    Binding("u", "act('undo')", "Undo", id="undo", tooltip="undo the deployment to its previous revision"),
    Binding("m", "auto_manual", "Auto", id="auto", tooltip="toggle automatic analysis and manual driving"),
]
STORE_BINDINGS = [
    Binding("e", "edit_flag", "Edit flag", id="flag-edit", tooltip="flags: edit the selected flag"),
    Binding("n", "new_flag", "New flag", id="flag-new", tooltip="flags: create a flag"),
    Binding("K", "kill_flag", "Kill flag", id="flag-kill",
            tooltip="flags: turn the selected flag off for everyone, everywhere"),
    Binding("x", "experiment_status", "Pause/resume exp.", id="experiment-status",
            tooltip="experiments: stop or restart assigning users"),
    Binding("r", "rebuild_counters", "Rebuild counters", id="experiment-rebuild",
            tooltip="experiments: count the seed's own events in Redis"),
]
STORE_TABS = {"edit_flag": "flags", "new_flag": "flags", "kill_flag": "flags", "experiment_status": "experiments",
              "rebuild_counters": "experiments"}
ACTION_IDS = frozenset(b.id for b in ACTION_BINDINGS + STORE_BINDINGS)


def _needs_confirmation(preview: Preview) -> bool:
    return preview.destructive or bool(preview.confirm_name)


class ControlScreen(MainScreen):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [*ACTION_BINDINGS, *STORE_BINDINGS]

    def binding_group(self, binding: Binding) -> str:
        return "Actions" if binding.id in ACTION_IDS else super().binding_group(binding)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        tab = STORE_TABS.get(action)
        if tab is not None:
            if action == "rebuild_counters" and (self.rebuilds is None or not self.rebuilds.supported):
                return False  # the simulator counts by itself: nothing to rebuild
            return self.is_mounted and self.active_tab == tab
        return super().check_action(action, parameters)

    @property
    def busy(self) -> bool:
        return any(w.group == "actions" and w.is_running for w in self.workers)

    def action_pause_resume(self) -> None:
        """Space says what the screen shows should change: pause what is shown running, resume what is
        shown paused. The engine treats both as set operations, so a stale screen never reverses intent."""
        rollout = self.state.rollout(self.selected_key or "")
        self.action_act(Verb.RESUME.value if rollout is not None and rollout.paused else Verb.PAUSE.value)

    def action_auto_manual(self) -> None:
        rollout = self.state.rollout(self.selected_key or "")
        self.action_act(Verb.MANUAL.value if rollout is None or rollout.auto else Verb.AUTO.value)

    def action_act(self, action: str) -> None:
        key = self.selected_key
        if key is None:
            self.notify("Select a rollout first.", severity="warning")
            return
        if self.busy:
            self.notify("An action is still running.", severity="warning")
            return
        self.run_action_flow(Verb(action), key)

    @work(group="actions", exit_on_error=False)
    async def run_action_flow(self, verb: Verb, key: str) -> None:
        """Preview once; confirm what is destructive; execute with the preview, which the engine refuses
        when the target changed since (then the confirmation opens again on the fresh preview)."""
        engine = self.app.engine  # type: ignore[attr-defined]
        command = RolloutCommand(verb, key)
        try:
            preview = await engine.preview(command)
            result = None
            while result is None:
                result = await self._confirm_and_execute(engine, command, preview)
                if result is not None and result.stale and result.preview is not None and _needs_confirmation(preview):
                    self.notify(result.message, severity="warning", timeout=6)
                    preview, result = result.preview, None
        except Exception as error:  # the engine's failures end as one sentence, never a traceback
            self.notify(f"{verb.value} {key} failed: {error}", severity="error", timeout=8)
            return
        if result.message:
            self.notify(result.message, severity="information" if result.ok else "error",
                        timeout=5 if result.ok else 8)

    async def _confirm_and_execute(self, engine: Any, command: RolloutCommand, preview: Preview) -> Result:
        """One round: say why it does not apply, or confirm (if destructive) and execute."""
        verb, key = command.verb.value, command.target
        if not preview.possible:
            reason = "; ".join(preview.lines) or f"{verb} does not apply to {key} now"
            self.notify(reason, title=f"{verb} {key}", severity="warning", timeout=6)
            return Result(False, "", target=key)
        confirmed = preview
        if _needs_confirmation(preview):
            confirmed = await self.app.push_screen_wait(
                ConfirmScreen(preview, refresh=lambda: engine.preview(command), action=verb))
            if confirmed is None:
                self.notify(f"{verb} {key}: cancelled.", timeout=3)
                return Result(False, "", target=key)
        result: Result = await engine.execute(command, confirmed=confirmed)
        return result

    # ------------------------------------------------------------ flags and experiments

    def _store_busy(self) -> bool:
        if any(w.group == "store" and w.is_running for w in self.workers):
            self.notify("A flag or experiment change is still open.", severity="warning")
            return True
        return False

    def _selected_flag(self) -> str | None:
        name = self.query_one(FlagsList).selected_key
        if name is None:
            self.notify("Select a flag first.", severity="warning")
        return name

    def action_edit_flag(self) -> None:
        name = self._selected_flag()
        if name is not None and not self._store_busy():
            self.run_flag_editor(name, new=False)

    def action_new_flag(self) -> None:
        if not self._store_busy():
            self.run_flag_editor("", new=True)

    def action_kill_flag(self) -> None:
        name = self._selected_flag()
        if name is not None and not self._store_busy():
            self.run_kill_switch(name)

    def action_experiment_status(self) -> None:
        exp_id = self.query_one(ExperimentsList).selected_experiment
        if exp_id is None:
            self.notify("Select an experiment first.", severity="warning")
        elif not self._store_busy():
            self.run_experiment_status(exp_id)

    @work(group="store", exit_on_error=False)
    async def run_flag_editor(self, name: str, new: bool) -> None:
        engine = self.app.engine  # type: ignore[attr-defined]
        try:
            raw, version = (None, store_ops.NEW) if new else await engine.store.get_flag_raw(name)
        except Exception as error:
            self.notify(f"Flag {name} could not be read: {error}", severity="error", timeout=8)
            return
        if not new and raw is None:
            self.notify(f"Flag {name} no longer exists.", severity="warning")
            return
        ids, label = await experiment_user_ids(engine)
        result = await self.app.push_screen_wait(
            FlagEditorScreen(engine, name, raw, version, sample_ids=ids, sample_label=label, new=new))
        if result is not None:
            self.notify(result.message, severity="information" if result.ok else "error", timeout=6)

    @work(group="store", exit_on_error=False)
    async def run_kill_switch(self, name: str) -> None:
        engine = self.app.engine  # type: ignore[attr-defined]
        try:
            raw, _ = await engine.store.get_flag_raw(name)
        except Exception as error:
            self.notify(f"Flag {name} could not be read: {error}", severity="error", timeout=8)
            return
        if raw is None:
            self.notify(f"Flag {name} no longer exists.", severity="warning")
            return
        after = store_ops.killed_config(raw, at=engine.clock.now(), by=engine.actor, reason="(your reason)")
        ids, label = await experiment_user_ids(engine)
        impact = await asyncio.to_thread(kill_impact, raw, after, name, ids, label)
        record = after.pop("killed")
        changes = store_ops.diff_lines(raw, after) + [
            f"+ killed: by {record['by']} at {record['at']}, your reason, and the previous values "
            f"{store_ops.value_text(record['previous'], 60)}"]
        reason = await self.app.push_screen_wait(KillSwitchScreen(name, changes, impact))
        if reason is None:
            self.notify(f"Kill {name}: cancelled.", timeout=3)
            return
        result = await store_ops.kill_flag(engine, name, reason)
        self.notify(result.message, severity="warning" if result.ok else "error", timeout=8)

    @work(group="store", exit_on_error=False)
    async def run_experiment_status(self, exp_id: str) -> None:
        engine = self.app.engine  # type: ignore[attr-defined]
        experiment = next((e for e in self.state.experiments if e.id == exp_id), None)
        current = experiment.status if experiment else "?"
        status = "paused" if current == "active" else "active"
        what = "stops assigning new users" if status == "paused" else "assigns new users again"
        preview = Preview(SetExperimentStatus(exp_id, status),
                          f"{'Pause' if status == 'paused' else 'Resume'} experiment {exp_id}?",
                          (f"status {current} → {status}: the seed {what}",), destructive=status == "paused")
        verb = "pause" if status == "paused" else "resume"
        if not await self.app.push_screen_wait(ConfirmScreen(preview, action=verb)):
            return
        result = await store_ops.set_experiment_status(engine, exp_id, status)
        self.notify(result.message, severity="information" if result.ok else "error", timeout=6)

    # ------------------------------------------------------------ counter rebuilds

    def action_rebuild_counters(self) -> None:
        exp_id = self.query_one(ExperimentsList).selected_experiment
        if exp_id is None:
            self.notify("Select an experiment first.", severity="warning")
        elif self.rebuilds is not None:
            self.run_rebuild(exp_id)

    @work(group="rebuild", exit_on_error=False)
    async def run_rebuild(self, exp_id: str) -> None:
        """Start the rebuild and relay its progress as messages until it ends; the UI never waits."""
        rebuilds = self.rebuilds
        if rebuilds is None:
            return
        stop = rebuilds.subscribe(lambda status: self.post_message(RebuildChanged(status)))
        try:
            refusal = rebuilds.start(exp_id)
            if refusal:
                self.notify(refusal, severity="warning", timeout=6)
                return
            status = await rebuilds.wait()
        finally:
            stop()
        self.post_message(RebuildChanged(status))
        if status.error:
            self.notify(status.error, severity="error", timeout=8)
        else:
            self.notify(status.message, timeout=5)

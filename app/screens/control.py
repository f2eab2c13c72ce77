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

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import work
from textual.binding import ActiveBinding, Binding

from app.control.commands import KillFlag, Preview, RebuildCounters, Result, RolloutCommand, SetExperimentStatus, Verb
from app.screens import access_keys
from app.screens.access_keys import BOOTSTRAP_BINDING, BOOTSTRAP_FALLBACK, denied_fallbacks
from app.screens.confirm import ConfirmScreen
from app.screens.foreign_keys import BY_ID, FOREIGN_BINDINGS, FOREIGN_FALLBACKS, FOREIGN_IDS, FOREIGN_KEYS
from app.screens.main import MainScreen, strategy_fallbacks
from widgets.experiments_list import ExperimentsList
from widgets.flags_list import FlagsList

if TYPE_CHECKING:
    from app.model import Rollout, RoomState

ACTION_BINDINGS = [
    Binding("s", "act('step')", "Step", id="step", tooltip="canary: go to the next weight now"),
    Binding(
        "p",
        "act('promote')",
        "Promote",
        id="promote",
        tooltip="canary: its image becomes the primary's, then 100/0 to the primary",
    ),
    Binding("space", "pause_resume", "Pause", id="pause-resume", tooltip="pause or resume the analysis"),
    Binding("a", "act('abort')", "Abort", id="abort", tooltip="roll back: 100% stable, canary scaled to 0"),
    Binding("b", "act('switch')", "Switch", id="switch", tooltip="blue-green: switch to the idle colour, or back"),
    Binding("u", "act('undo')", "Undo", id="undo", tooltip="undo the deployment to its previous revision"),
    Binding("m", "auto_manual", "Auto", id="auto", tooltip="toggle automatic analysis and manual driving"),
]
STORE_BINDINGS = [
    Binding("e", "edit_flag", "Edit flag", id="flag-edit", tooltip="flags: edit the selected flag"),
    Binding("n", "new_flag", "New flag", id="flag-new", tooltip="flags: create a flag"),
    Binding(
        "K",
        "kill_flag",
        "Kill flag",
        id="flag-kill",
        tooltip="flags: turn the selected flag off for everyone, everywhere",
    ),
    Binding(
        "x",
        "experiment_status",
        "Pause/resume exp.",
        id="experiment-status",
        tooltip="experiments: stop or restart assigning users",
    ),
    Binding(
        "r",
        "rebuild_counters",
        "Rebuild counters",
        id="experiment-rebuild",
        tooltip="experiments: count the seed's own events in Redis",
    ),
]
STORE_TABS = {
    "edit_flag": "flags",
    "new_flag": "flags",
    "kill_flag": "flags",
    "experiment_status": "experiments",
    "rebuild_counters": "experiments",
}
ACTION_IDS = frozenset(b.id for b in ACTION_BINDINGS + STORE_BINDINGS) | FOREIGN_IDS | {BOOTSTRAP_BINDING.id}


def _needs_confirmation(preview: Preview) -> bool:
    return preview.destructive or bool(preview.confirm_name)


class ControlScreen(MainScreen):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        *ACTION_BINDINGS,
        *STORE_BINDINGS,
        BOOTSTRAP_BINDING,
        *denied_fallbacks([*ACTION_BINDINGS, BOOTSTRAP_BINDING]),  # before the others: a denied key says why
        BOOTSTRAP_FALLBACK,
        *strategy_fallbacks(ACTION_BINDINGS),
        *FOREIGN_BINDINGS,
        *denied_fallbacks(FOREIGN_BINDINGS),
        *FOREIGN_FALLBACKS,
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watched_jobs: set[str] = set()  # rebuilds started here: their outcome is said once they end
        self._row_keys: object = None  # the selected row's denials and missing objects the footer shows
        self._offered: frozenset[str] = frozenset()  # the Argo / Flagger keys the footer offers now

    def binding_group(self, binding: Binding) -> str:
        return "Actions" if binding.id in ACTION_IDS else super().binding_group(binding)

    # ------------------------------------------------------------ keys this identity may not use (access_keys)

    @property
    def selected_rollout(self) -> Rollout | None:
        return self.state.rollout(self.selected_key or "") if self.is_mounted else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key whose verb this identity may not take on the selected row is shown disabled (None)."""
        if action in access_keys.MY_ACTIONS:
            on_tab = self.is_mounted and self.active_tab == "rollouts"
            return access_keys.check(action, parameters, self.selected_rollout) if on_tab else False
        rollout = self.selected_rollout
        if access_keys.not_here_reason(action, parameters, rollout) and self._on_rollouts():
            return None  # `m` / `b` on a row another controller drives: shown disabled, with what to use
        shown = self._shown(action, parameters)
        if shown and access_keys.denied_reason(action, parameters, rollout):
            return None
        return shown

    def _on_rollouts(self) -> bool:
        return self.is_mounted and self.active_tab == "rollouts"

    def binding_denied(self, binding: Binding) -> str:
        """Why `binding` does nothing on the selected row ("" if it works): help and the palette say it.

        The identity may not (a 403 to come), or the key is Shiftroom's own and another controller drives the row.
        """
        name, arg = access_keys._split(binding.action)
        args = (arg,) if arg else ()
        rollout = self.selected_rollout
        return access_keys.denied_reason(name, args, rollout) or access_keys.not_here_reason(name, args, rollout)

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return access_keys.with_reasons(super().active_bindings, self.selected_rollout)

    def action_denied(self, action: str, arg: str = "") -> None:
        rollout = self.selected_rollout
        args = (arg,) if arg else ()
        reason = access_keys.denied_reason(action, args, rollout)
        if rollout is None:
            return
        verb = access_keys.verb_of(action, args, rollout)
        if reason:
            self.notify(reason, title=f"{verb} {rollout.key}: not allowed", severity="warning", timeout=8)
        elif other := access_keys.not_here_reason(action, args, rollout):
            self.notify(other, title=f"{verb} {rollout.key}: not here", severity="warning", timeout=8)

    def action_bootstrap(self) -> None:
        key = self.selected_key
        if key is not None and not self.busy:
            self.run_bootstrap_flow(key)

    @work(group="actions", exit_on_error=False)
    async def run_bootstrap_flow(self, key: str) -> None:
        try:
            await access_keys.bootstrap_flow(self, key)
        except Exception as error:  # the engine's failures end as one sentence, never a traceback
            self.notify(f"bootstrap {key} failed: {error}", severity="error", timeout=8)

    def action_nothing_to_bootstrap(self) -> None:
        rollout = self.selected_rollout
        if rollout is not None:
            self.notify(access_keys.nothing_to_bootstrap(rollout), severity="warning", timeout=5)

    def _shown(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        tab = STORE_TABS.get(action)
        if tab is not None:
            if action == "rebuild_counters" and not (
                any(e.needs_rebuild for e in self.state.experiments)
                or any(j.kind == "rebuild" for j in self.state.jobs)
            ):
                return False  # nothing counted by the seed alone (the simulator counts by itself)
            return self.is_mounted and self.active_tab == tab
        if action in ("foreign", "not_for_row"):  # Argo / Flagger verbs: on the rollouts tab only
            if not (self.is_mounted and self.active_tab == "rollouts") or not parameters:
                return False
            rollout = self.state.rollout(self.selected_key or "")
            applies = BY_ID[str(parameters[0])].applies(rollout)
            return applies if action == "foreign" else rollout is not None and not applies
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

    def action_foreign(self, key_id: str) -> None:
        """A verb of the controller that drives the selected row (app/screens/foreign_keys.py)."""
        key = BY_ID[key_id]
        self.action_act(key.verb.value, key.gate)

    def action_not_for_row(self, key_id: str) -> None:
        rollout = self.state.rollout(self.selected_key or "")
        if rollout is not None:
            key = BY_ID[key_id]
            self.notify(key.why_not(rollout), title=f"{key.verb.value} {rollout.key}", severity="warning", timeout=5)

    def action_act(self, action: str, gate: str = "") -> None:
        key = self.selected_key
        if key is None:
            self.notify("Select a rollout first.", severity="warning")
            return
        if self.busy:
            self.notify("An action is still running.", severity="warning")
            return
        self.run_action_flow(Verb(action), key, gate)

    @work(group="actions", exit_on_error=False)
    async def run_action_flow(self, verb: Verb, key: str, gate: str = "") -> None:
        """Preview once; confirm what is destructive; execute with the preview, which the engine refuses
        when the target changed since (then the confirmation opens again on the fresh preview)."""
        engine = self.app.engine  # type: ignore[attr-defined]
        command = RolloutCommand(verb, key, gate=gate)
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
            self.notify(
                result.message,
                title=f"{verb.value} {key}",
                severity="information" if result.ok else "error",
                timeout=5 if result.ok else 8,
            )

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
                ConfirmScreen(preview, refresh=lambda: engine.preview(command), action=verb)
            )
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

    @property
    def engine(self) -> Any:
        return self.app.engine  # type: ignore[attr-defined]

    def _told(self, result: Any, ok_severity: Literal["information", "warning"] = "information") -> None:
        self.notify(result.message, severity=ok_severity if result.ok else "error", timeout=6 if result.ok else 8)

    @work(group="store", exit_on_error=False)
    async def run_flag_editor(self, name: str, new: bool) -> None:
        engine = self.engine
        if new:
            config, version = None, "0"
        else:
            read = await engine.desk.read_flag(name)
            if read.error:
                self.notify(read.error, severity="error", timeout=8)
                return
            if read.config is None:
                self.notify(f"Flag {name} no longer exists.", severity="warning")
                return
            config, version = read.config, read.version
        ids, label = await engine.desk.sample_users()
        from app.screens.flag_editor import FlagEditorScreen  # when first used: the first frame does not wait for it

        result = await self.app.push_screen_wait(
            FlagEditorScreen(engine, name, config, version, sample_ids=ids, sample_label=label, new=new)
        )
        if result is not None:
            self._told(result)

    @work(group="store", exit_on_error=False)
    async def run_kill_switch(self, name: str) -> None:
        """Preview the kill once, ask for the typed name and a reason, execute with that preview."""
        engine = self.engine
        preview: Preview = await engine.preview(KillFlag(name, "(your reason)"))
        from app.screens.kill_switch import KillSwitchScreen  # when first used, as the flag editor

        while True:
            if not preview.possible:
                self.notify(
                    preview.lines[0] if preview.lines else f"Flag {name} cannot be killed now.",
                    title=f"Kill {name}",
                    severity="error",
                    timeout=8,
                )
                return
            changes = [line for line in preview.lines if not _impact_line(line)]
            impact = [line for line in preview.lines if _impact_line(line)]
            reason = await self.app.push_screen_wait(KillSwitchScreen(name, changes, impact))
            if reason is None:
                self.notify(f"Kill {name}: cancelled.", timeout=3)
                return
            result = await engine.execute(KillFlag(name, reason), preview)
            if not result.stale or result.preview is None:
                self._told(result, "warning")
                return
            self.notify(result.message, title=f"Kill {name}", severity="warning", timeout=8)
            preview = result.preview  # the flag changed meanwhile: show the fresh preview

    @work(group="store", exit_on_error=False)
    async def run_experiment_status(self, exp_id: str) -> None:
        experiment = next((e for e in self.state.experiments if e.id == exp_id), None)
        status = "paused" if experiment is not None and experiment.status == "active" else "active"
        command = SetExperimentStatus(exp_id, status)
        preview = await self.engine.preview(command)
        if not preview.possible:
            self.notify(
                preview.lines[0] if preview.lines else f"Experiment {exp_id} cannot be changed now.",
                severity="warning",
                timeout=6,
            )
            return
        if not await self.app.push_screen_wait(
            ConfirmScreen(preview, action="pause" if status == "paused" else "resume")
        ):
            return
        self._told(await self.engine.execute(command, preview))

    # ------------------------------------------------------------ counter rebuilds

    def show_state(self, state: RoomState) -> None:
        super().show_state(state)
        row = self.selected_rollout
        offered = frozenset(k.id for k in FOREIGN_KEYS if k.applies(row))
        row_keys = (row.key, row.denied, row.needs_bootstrap) if row is not None else None
        # The selected row was aborted or retried, got a gate, a denial or its missing objects: refresh the footer.
        if offered != self._offered or row_keys != self._row_keys:
            self._offered, self._row_keys = offered, row_keys
            self.refresh_bindings()
        for job in state.jobs:  # a job this screen started has ended: say how, once
            if job.id in self._watched_jobs and job.status != "running":
                self._watched_jobs.discard(job.id)
                self.notify(
                    job.message,
                    severity="information" if job.status == "done" else "error",
                    timeout=5 if job.status == "done" else 8,
                )

    def action_rebuild_counters(self) -> None:
        exp_id = self.query_one(ExperimentsList).selected_experiment
        if exp_id is None:
            self.notify("Select an experiment first.", severity="warning")
        else:
            self.run_rebuild(exp_id)

    @work(group="rebuild", exit_on_error=False)
    async def run_rebuild(self, exp_id: str) -> None:
        """Start the rebuild as an engine job; its progress arrives with the snapshots (`RoomState.jobs`)."""
        command = RebuildCounters(exp_id)
        preview = await self.engine.preview(command)
        if not preview.possible:
            self.notify(
                preview.lines[0] if preview.lines else f"Experiment {exp_id}: nothing to rebuild.",
                severity="warning",
                timeout=6,
            )
            return
        result = await self.engine.execute(command, preview)
        self._told(result)
        if result.ok and result.details.get("job"):
            self._watched_jobs.add(str(result.details["job"]))


def _impact_line(line: str) -> bool:
    """Lines of a kill preview that count who loses the flag (the rest are field changes)."""
    return " have it → " in line or line.startswith("whitelisted ids lose it")

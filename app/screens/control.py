"""The main screen with the write keys bound: step, promote, pause, abort, switch, undo, auto.

A key asks the engine for a preview; a destructive preview needs confirmation
(typing the target's name in production); then the engine acts and the result
shows as a toast. In read-only mode the App uses `MainScreen`, so these keys
are not bound at all.
"""

from __future__ import annotations

from textual import work
from textual.binding import Binding

from app.screens.confirm import ConfirmScreen
from app.screens.main import MainScreen

ACTION_BINDINGS = [
    Binding("s", "act('step')", "Step", id="step", tooltip="canary: go to the next weight now"),
    Binding("p", "act('promote')", "Promote", id="promote", tooltip="send all traffic to the canary and finish"),
    Binding("space", "pause_resume", "Pause", id="pause-resume", tooltip="pause or resume the analysis"),
    Binding("a", "act('abort')", "Abort", id="abort", tooltip="roll back: 100% stable, canary scaled to 0"),
    Binding("b", "act('switch')", "Switch", id="switch", tooltip="blue-green: switch to the idle colour, or back"),
    Binding("u", "act('undo')", "Undo", id="undo", tooltip="undo the deployment to its previous revision"),
    Binding("m", "act('auto')", "Auto", id="auto", tooltip="toggle automatic analysis and manual driving"),
]
ACTION_IDS = frozenset(b.id for b in ACTION_BINDINGS)


class ControlScreen(MainScreen):
    BINDINGS = ACTION_BINDINGS

    def binding_group(self, binding: Binding) -> str:
        return "Actions" if binding.id in ACTION_IDS else super().binding_group(binding)

    @property
    def busy(self) -> bool:
        return any(w.group == "actions" and w.is_running for w in self.workers)

    def action_pause_resume(self) -> None:
        rollout = self.state.rollout(self.selected_key or "")
        self.action_act("resume" if rollout is not None and rollout.paused else "pause")

    def action_act(self, action: str) -> None:
        key = self.selected_key
        if key is None:
            self.notify("Select a rollout first.", severity="warning")
            return
        if self.busy:
            self.notify("An action is still running.", severity="warning")
            return
        self.run_action_flow(action, key)

    @work(group="actions", exit_on_error=False)
    async def run_action_flow(self, action: str, key: str) -> None:
        engine = self.app.engine  # type: ignore[attr-defined]
        try:
            preview = engine.preview(action, key)
            if not getattr(preview, "possible", True):
                reason = "; ".join(preview.lines) or f"{action} does not apply to {key} now"
                self.notify(reason, title=f"{action} {key}", severity="warning", timeout=6)
                return
            if preview.destructive or preview.confirm_name:
                confirmed = await self.app.push_screen_wait(ConfirmScreen(preview, action=action))
                if not confirmed:
                    self.notify(f"{action} {key}: cancelled.", timeout=3)
                    return
            result = await engine.act(action, key)
        except Exception as error:  # the engine's failures end as one sentence, never a traceback
            self.notify(f"{action} {key} failed: {error}", severity="error", timeout=8)
            return
        self.notify(result.message, severity="information" if result.ok else "error", timeout=5 if result.ok else 8)

"""The canary's keys: what each verb would change (preview) and doing it (act).

s step, p promote, space pause/resume, a abort, u undo, m automatic/manual.
Owned by `CanaryController` (composition: it hands itself in).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.control.analysis import weights_text
from app.control.commands import Preview, RolloutCommand, Verb
from app.control.modes import MODE_VERBS, mode_preview, set_mode
from app.control.previous_revision import PreviousRevisions
from app.model import Phase

if TYPE_CHECKING:
    from app.control.canary import CanaryController

PAUSABLE = (Phase.WAITING, Phase.PROGRESSING)


class CanaryCommands:
    def __init__(self, ctl: CanaryController) -> None:
        self.ctl = ctl
        self.previous = PreviousRevisions(ctl.ctx.writes.cluster)

    def _scale_line(self) -> str:
        """'deployment <canary> (canary) scaled N → 0': the deployment and its role, not just a name."""
        ctl = self.ctl
        now = ctl.canary.replicas if ctl.canary else ctl.target.replicas
        return f"deployment {ctl.canary_name} (canary) scaled {now} → 0"

    def preview(self, cmd: RolloutCommand) -> Preview:
        ctl = self.ctl
        s, t = ctl.state, ctl.target
        if cmd.verb in MODE_VERBS:
            return mode_preview(cmd, t.name, s, PAUSABLE, held=f"weight held at {weights_text(s.weight)}")
        build = {
            Verb.STEP: self._step,
            Verb.PROMOTE: self._promote,
            Verb.ABORT: self._abort,
            Verb.UNDO: self._undo,
        }.get(cmd.verb)
        if build is None:
            return Preview(
                cmd, cmd.verb.value, (f"{cmd.verb.value} does not apply to canary {t.name}",), possible=False
            )
        return build(cmd)

    def _step(self, cmd: RolloutCommand) -> Preview:
        ctl = self.ctl
        s, name = ctl.state, ctl.target.name
        if s.phase is not Phase.PROGRESSING:
            return Preview(cmd, f"Step {name}", (f"{name} is {s.phase.value}: nothing to step",), possible=False)
        nxt = ctl.steps[s.step] if s.step < len(ctl.steps) else None
        line = (
            f"weights {weights_text(s.weight)} → {weights_text(nxt)}"
            if nxt is not None
            else "at max weight: step promotes"
        )
        return Preview(cmd, f"Step {name}", (line,))

    def _promote(self, cmd: RolloutCommand) -> Preview:
        ctl = self.ctl
        s, t = ctl.state, ctl.target
        if s.phase is not Phase.PROGRESSING:
            return Preview(
                cmd, f"Promote {t.name}", (f"{t.name} is {s.phase.value}: nothing to promote",), possible=False
            )
        return Preview(
            cmd,
            f"Promote {t.name}",
            (
                f"primary image {s.stable_image} → {s.image}",
                f"weights {weights_text(s.weight)} → 100/0 once the primary is ready",
                self._scale_line(),
            ),
            destructive=True,
            confirm_name=t.name if t.production else None,
        )

    def _abort(self, cmd: RolloutCommand) -> Preview:
        ctl = self.ctl
        s, t = ctl.state, ctl.target
        if s.phase not in (Phase.WAITING, Phase.PROGRESSING, Phase.PROMOTING):
            return Preview(cmd, f"Abort {t.name}", (f"{t.name} is {s.phase.value}: nothing to abort",), possible=False)
        lines = [f"weights {weights_text(s.weight)} → 100/0", self._scale_line(), "phase → Failed"]
        if s.phase is Phase.PROMOTING:
            lines.insert(0, f"primary image {s.image} → {s.stable_image}")
        return Preview(
            cmd, f"Abort {t.name}", tuple(lines), destructive=True, confirm_name=t.name if t.production else None
        )

    def _undo(self, cmd: RolloutCommand) -> Preview:
        ctl = self.ctl
        s, t = ctl.state, ctl.target
        if s.phase in (Phase.PROGRESSING, Phase.PROMOTING):
            return Preview(cmd, f"Undo {t.name}", (f"{t.name} is {s.phase.value}: abort it instead",), possible=False)
        return Preview(
            cmd,
            f"Undo {t.name}",
            (
                self.previous.line(ctl.primary, f"deployment {ctl.primary_name} (primary)"),
                "back to its previous revision, as `kubectl rollout undo` does",
            ),
            destructive=True,
            confirm_name=t.name if t.production else None,
        )

    async def act(self, cmd: RolloutCommand, actor: str) -> str:
        """Do it (the preview said it is possible); the sentence for the toast."""
        ctl = self.ctl
        s, now, verb = ctl.state, ctl.ctx.clock.now(), cmd.verb
        if verb in MODE_VERBS:
            action, changed = set_mode(cmd, s, actor)
            if not changed:
                return mode_preview(cmd, ctl.target.name, s, PAUSABLE).lines[0].split(":")[0]
            if verb is Verb.RESUME:
                s.next_tick = now + ctl.target.analysis.interval
            await ctl.ctx.decide(ctl.target.key, action, s.message, actor=actor)
        elif verb is Verb.STEP:
            await ctl.advance(now, actor, f"stepped by {actor}")
        elif verb is Verb.PROMOTE:
            await ctl.promote(now, actor, f"promoted by {actor}")
        elif verb is Verb.ABORT:
            await ctl.rollback(now, f"aborted by {actor}", actor=actor)
        elif verb is Verb.UNDO:
            await ctl.guard_undo(f"undone by {actor}", actor=actor)
        await ctl.save()
        return str(ctl.state.message)

"""The blue-green keys: b switch (or back), a abort, u undo, space pause/resume, m automatic/manual.

Owned by `BlueGreenController` (composition: it hands itself in).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.control.commands import Preview, RolloutCommand, Verb
from app.control.modes import MODE_VERBS, mode_preview, set_mode
from app.control.previous_revision import PreviousRevisions
from app.model import Phase

if TYPE_CHECKING:
    from app.control.bluegreen import BlueGreenController

PAUSABLE = (Phase.PROGRESSING,)


class BlueGreenCommands:
    def __init__(self, ctl: BlueGreenController) -> None:
        self.ctl = ctl
        self.previous = PreviousRevisions(ctl.ctx.writes.cluster)

    @property
    def _stage(self) -> str:
        from app.control.bluegreen import STAGES

        s = self.ctl.state
        return STAGES[s.stage] if s.phase is Phase.PROGRESSING else ""

    def _confirm_name(self) -> str | None:
        t = self.ctl.target
        return t.name if t.production else None

    def preview(self, cmd: RolloutCommand) -> Preview:
        ctl = self.ctl
        if cmd.verb in MODE_VERBS:
            return mode_preview(cmd, ctl.target.name, ctl.state, PAUSABLE)
        build = {Verb.SWITCH: self._switch, Verb.ABORT: self._abort, Verb.UNDO: self._undo}.get(cmd.verb)
        if build is None:
            return Preview(
                cmd,
                cmd.verb.value,
                (f"{cmd.verb.value} does not apply to blue-green target {ctl.target.name}",),
                possible=False,
            )
        return build(cmd)

    def _switch(self, cmd: RolloutCommand) -> Preview:
        ctl = self.ctl
        s, name = ctl.state, ctl.target.name
        if self._stage == "switch":
            return Preview(
                cmd,
                f"Switch {name}",
                (
                    f"Service {ctl.service_name} selector version: {s.old_color} → {s.new_color}",
                    f"image {s.old_image} → {s.image}",
                ),
                destructive=True,
                confirm_name=self._confirm_name(),
            )
        if self._stage == "stabilize" or (s.phase is Phase.SUCCEEDED and s.scale_down_at):
            return Preview(
                cmd,
                f"Switch {name} back",
                (
                    f"Service {ctl.service_name} selector version: {s.new_color} → {s.old_color}",
                    f"image {s.image} → {s.old_image}",
                ),
                destructive=True,
                confirm_name=self._confirm_name(),
            )
        why = "nothing to switch" if not s.old_color else f"{s.old_color} is scaled down: use u to undo"
        return Preview(cmd, f"Switch {name}", (f"{name}: {why}",), possible=False)

    def _abort(self, cmd: RolloutCommand) -> Preview:
        ctl = self.ctl
        s, name = ctl.state, ctl.target.name
        if s.phase is not Phase.PROGRESSING:
            return Preview(cmd, f"Abort {name}", (f"{name} is {s.phase.value}: nothing to abort",), possible=False)
        new = ctl.deployments.get(s.new_color)
        lines = [
            f"deployment {ctl.dep_name(s.new_color)} (new, {s.new_color}) scaled {new.replicas if new else '?'} → 0",
            "phase → Failed",
        ]
        if self._stage == "stabilize":
            lines.insert(0, f"selector version {s.new_color} → {s.old_color}")
        return Preview(cmd, f"Abort {name}", tuple(lines), destructive=True, confirm_name=self._confirm_name())

    def _undo(self, cmd: RolloutCommand) -> Preview:
        ctl = self.ctl
        s, name = ctl.state, ctl.target.name
        if s.phase is Phase.PROGRESSING:
            return Preview(cmd, f"Undo {name}", (f"{name} is Progressing: abort it instead",), possible=False)
        if s.scale_down_at and s.old_color:
            return self._switch(cmd)
        dep = ctl.deployments.get(ctl.live)
        return Preview(
            cmd,
            f"Undo {name}",
            (
                self.previous.line(dep, f"deployment {ctl.dep_name(ctl.live)} (live, {ctl.live})"),
                "back to its previous revision, as `kubectl rollout undo` does",
            ),
            destructive=True,
            confirm_name=self._confirm_name(),
        )

    async def act(self, cmd: RolloutCommand, actor: str) -> str:
        """Do it (the preview said it is possible); the sentence for the toast."""
        ctl = self.ctl
        s, now, verb = ctl.state, ctl.ctx.clock.now(), cmd.verb
        if verb in MODE_VERBS:
            action, changed = set_mode(cmd, s, actor)
            if not changed:
                return mode_preview(cmd, ctl.target.name, s, PAUSABLE).lines[0].split(":")[0]
            await ctl.ctx.decide(ctl.target.key, action, s.message, actor=actor)
        elif verb is Verb.SWITCH:
            if self._stage == "switch":
                await ctl.switch(now, actor, f"switched by {actor}")
            else:
                await ctl.switch_back(now, actor, f"switched back by {actor}")
        elif verb is Verb.ABORT:
            if self._stage == "stabilize":
                await ctl.switch_back(now, actor, f"aborted by {actor}")
            else:
                await ctl.fail(f"aborted by {actor}", actor=actor)
        elif verb is Verb.UNDO:
            await ctl.undo(f"undone by {actor}", actor=actor)
        await ctl.save()
        return str(ctl.state.message)

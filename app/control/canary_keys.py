"""The canary's keys: what each action would change (preview) and doing it (act)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.control.actions import ActionResult, Preview
from app.model import Phase

if TYPE_CHECKING:
    from app.control.canary import CanaryController


def _w(canary: int | None) -> str:
    return "" if canary is None else f"{100 - canary}/{canary}"


class CanaryKeys:
    """Mixed into `CanaryController`: s step, p promote, space pause, a abort, u undo, m auto."""

    def preview(self: "CanaryController", action: str) -> Preview:
        s, t = self.state, self.target
        name = t.name if t.production else None
        progressing = s.phase is Phase.PROGRESSING
        if action == "step":
            if not progressing:
                return Preview("Step", [f"{t.name} is {s.phase.value}: nothing to step"], possible=False)
            nxt = self.steps[s.step] if s.step < len(self.steps) else None
            line = f"weights {_w(s.weight)} → {_w(nxt)}" if nxt is not None else "at max weight: step promotes"
            return Preview(f"Step {t.name}", [line])
        if action == "promote":
            if s.phase not in (Phase.PROGRESSING,):
                return Preview("Promote", [f"{t.name} is {s.phase.value}: nothing to promote"], possible=False)
            return Preview(f"Promote {t.name}", [
                f"primary image {s.stable_image} → {s.image}",
                f"weights {_w(s.weight)} → 100/0 once the primary is ready",
                f"canary deployment {self.canary_name} scaled {self.target.replicas} → 0",
            ], destructive=True, confirm_name=name)
        if action == "abort":
            if s.phase not in (Phase.WAITING, Phase.PROGRESSING, Phase.PROMOTING):
                return Preview("Abort", [f"{t.name} is {s.phase.value}: nothing to abort"], possible=False)
            lines = [f"weights {_w(s.weight)} → 100/0", f"canary deployment {self.canary_name} scaled → 0",
                     "phase → Failed"]
            if s.phase is Phase.PROMOTING:
                lines.insert(0, f"primary image {s.image} → {s.stable_image}")
            return Preview(f"Abort {t.name}", lines, destructive=True, confirm_name=name)
        if action in ("pause", "resume"):
            verb = "Resume" if s.paused else "Pause"
            return Preview(f"{verb} {t.name}", [f"weight held at {_w(s.weight)}" if verb == "Pause" else "analysis resumes"])
        if action == "auto":
            return Preview(f"{t.name}: {'manual' if s.auto else 'automatic'} mode", [])
        if action == "undo":
            if progressing or s.phase is Phase.PROMOTING:
                return Preview("Undo", [f"{t.name} is {s.phase.value}: abort it instead"], possible=False)
            now = self.primary.image if self.primary else "?"
            # The last promotion replaced `stable_image`: that is the revision undo goes back to.
            back = f"image {now} → {s.stable_image}" if s.stable_image and s.stable_image != now else (
                f"image now {now}; the previous revision's image is in `kubectl rollout history`")
            return Preview(f"Undo {t.name}", [
                f"primary deployment {self.primary_name} back to its previous revision: {back}",
                "as `kubectl rollout undo` does",
            ], destructive=True, confirm_name=name)
        return Preview(action, [f"{action} does not apply to a canary"], possible=False)

    async def act(self: "CanaryController", action: str, actor: str) -> ActionResult:
        s, now = self.state, self.ctx.clock.now()
        p = self.preview(action)
        if not p.possible:
            return ActionResult(False, p.lines[0])
        if action == "step":
            await self._advance(now, actor, f"stepped by {actor}")
        elif action == "promote":
            await self._promote(now, actor, f"promoted by {actor}")
        elif action == "abort":
            await self._rollback(now, f"aborted by {actor}", actor=actor)
        elif action in ("pause", "resume"):
            await self.toggle("paused", actor)
            if not s.paused:
                s.next_tick = now + self.target.analysis.interval
        elif action == "undo":
            await self._guard_undo(f"undone by {actor}", actor=actor)
        elif action == "auto":
            await self.toggle("auto", actor)
        await self.save()
        return ActionResult(True, s.message)


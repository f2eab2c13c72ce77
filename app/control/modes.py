"""Pause/resume and automatic/manual as set operations, shared by every controller.

`resume` on a running target answers that it is already running; nothing is
toggled from a snapshot that may be stale.
"""

from __future__ import annotations

from typing import Any

from app.control.commands import Preview, RolloutCommand, Verb
from app.model import Phase

MODE_VERBS = frozenset({Verb.PAUSE, Verb.RESUME, Verb.AUTO, Verb.MANUAL})


def mode_preview(cmd: RolloutCommand, name: str, state: Any, pausable: tuple[Phase, ...], held: str = "") -> Preview:
    """The preview of a mode verb: what it sets, that it already holds, or why it does not apply."""
    verb = cmd.verb
    if verb in (Verb.PAUSE, Verb.RESUME):
        if state.phase not in pausable:
            return Preview(
                cmd,
                verb.value.capitalize(),
                (f"{name} is {state.phase.value}: there is no analysis to {verb.value}",),
                possible=False,
            )
        want = verb is Verb.PAUSE
        if state.paused == want:
            return Preview(
                cmd,
                f"{name} is already {'paused' if want else 'running'}",
                (f"{name} is already {'paused' if want else 'running'}: nothing to change",),
            )
        if want:
            return Preview(cmd, f"Pause {name}", (held,) if held else ())
        return Preview(cmd, f"Resume {name}", ("analysis resumes",))
    want = verb is Verb.AUTO
    word = "automatic" if want else "manual"
    if state.auto == want:
        return Preview(
            cmd, f"{name} is already in {word} mode", (f"{name} is already in {word} mode: nothing to change",)
        )
    return Preview(cmd, f"{name}: {word} mode", ())


def set_mode(cmd: RolloutCommand, state: Any, actor: str) -> tuple[str, bool]:
    """Apply a mode verb to `state`; (the action recorded, whether anything changed). The message goes
    to `state.message`, never to `state.decision`."""
    verb = cmd.verb
    if verb in (Verb.PAUSE, Verb.RESUME):
        want = verb is Verb.PAUSE
        if state.paused == want:
            return verb.value, False
        state.paused = want
        state.message = f"{'paused' if want else 'resumed'} by {actor}"
        return verb.value, True
    want = verb is Verb.AUTO
    if state.auto == want:
        return verb.value, False
    state.auto = want
    state.message = f"{'automatic' if want else 'manual'} mode set by {actor}"
    return verb.value, True

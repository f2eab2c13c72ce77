"""Every call the verbs make into the engine, in one place.

The verbs speak the typed command API (`app.control.commands`): `await
engine.preview(command) -> Preview` and `await engine.execute(command,
confirmed=preview, actor=...) -> Result`. An engine that still has the older
string API (`engine.preview(action, key)` / `await engine.act(action, key)`)
is adapted here, so the verbs do not change when the engine does. Pause and resume
state intent on Flagger and Argo rows as on Shiftroom's own: already so is done.
"""

from __future__ import annotations

import inspect
from typing import Any

from app.control.commands import DESTRUCTIVE, Preview, Result, RolloutCommand, Verb


def _typed(engine: Any) -> bool:
    return inspect.iscoroutinefunction(engine.preview)


async def preview(engine: Any, command: RolloutCommand) -> Preview:
    if _typed(engine):
        already = _foreign_already(engine, command)
        if already:
            return Preview(command=command, title=command.verb.value, lines=(already,), possible=True)
        result: Preview = await engine.preview(command)
        return result
    old = engine.preview(command.verb.value, command.target)
    lines = tuple(old.lines)
    already = _already(engine, command)
    if already:
        return Preview(command=command, title=old.title, lines=(already,), possible=True)
    return Preview(
        command=command,
        title=old.title,
        lines=lines,
        destructive=old.destructive or command.verb in DESTRUCTIVE,
        confirm_name=old.confirm_name,
        possible=old.possible,
    )


async def execute(engine: Any, command: RolloutCommand, confirmed: Preview, actor: str) -> Result:
    if _typed(engine):
        already = _foreign_already(engine, command)
        if already:  # as Shiftroom's own targets answer a pause of a paused target: said, and done
            return Result(ok=True, message=already, target=command.target)
        result: Result = await engine.execute(command, confirmed=confirmed, actor=actor)
        return result
    already = _already(engine, command)
    if already:  # the string API toggles pause; a command states its intent
        return Result(ok=True, message=already, target=command.target)
    done = await engine.act(command.verb.value, command.target)
    return Result(ok=bool(done.ok), message=str(done.message), target=command.target)


def _already(engine: Any, command: RolloutCommand) -> str:
    rollout = engine.state.rollout(command.target)
    if rollout is None:
        return ""
    if command.verb is Verb.PAUSE and rollout.paused:
        return f"{rollout.key} is already paused"
    if command.verb is Verb.RESUME and not rollout.paused:
        return f"{rollout.key} is already running"
    return ""


def _foreign_already(engine: Any, command: RolloutCommand) -> str:
    """A pause of a Canary / Rollout already paused by hand (spec.suspend, spec.paused), or a resume of one
    that is neither paused by hand nor at a pause step: the sentence saying so; "" otherwise. Read from the
    engine's watch cache (`engine.foreign`, the desk of rollouts another controller drives)."""
    if command.verb not in (Verb.PAUSE, Verb.RESUME):
        return ""
    index = engine.foreign.foreign.index(engine.foreign.objects())
    if command.target in index.rollouts:
        view = index.rollouts[command.target]
        by_hand, at_step = view.spec_paused, bool(view.pause_conditions)
    elif command.target in index.canaries:
        by_hand, at_step = index.canaries[command.target].suspended, False
    else:
        return ""
    if command.verb is Verb.PAUSE and by_hand:
        return f"{command.target} is already paused"
    if command.verb is Verb.RESUME and not by_hand and not at_step:
        return f"{command.target} is already running"
    return ""

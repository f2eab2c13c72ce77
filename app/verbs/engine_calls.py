"""Every call the verbs make into the engine, in one place.

The verbs speak the typed command API (`app.control.commands`): `await
engine.preview(command) -> Preview` and `await engine.execute(command,
confirmed=preview, actor=...) -> Result`. An engine that still has the older
string API (`engine.preview(action, key)` / `await engine.act(action, key)`)
is adapted here, so the verbs do not change when the engine does.
"""

from __future__ import annotations

import inspect
from typing import Any

from app.control.commands import DESTRUCTIVE, Preview, Result, RolloutCommand, Verb


def _typed(engine: Any) -> bool:
    return inspect.iscoroutinefunction(engine.preview)


async def preview(engine: Any, command: RolloutCommand) -> Preview:
    if _typed(engine):
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

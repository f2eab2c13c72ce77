"""`shiftroom promote|abort|pause|resume|step|switch|undo TARGET --reason TEXT`: one engine command.

Destructive commands need `--yes` when stdin is not a terminal; on a terminal
they ask, and a production target asks for its name to be typed. On a Flagger
Canary or an Argo Rollout the command is the engine's foreign command (the
request their own tool sends); a verb their controller has no mechanism for is
bad input (`app.verbs.mechanisms`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from app.control.commands import Preview, RolloutCommand, Verb
from app.identity import operator
from app.sanitize import clean
from app.verbs import BAD_INPUT, FAILED, OK, VERBS  # noqa: F401 - VERBS re-exported
from app.verbs import engine_calls as calls
from app.verbs.backend import BackendOptions, open_session
from app.verbs.mechanisms import missing
from app.verbs.report import emit
from app.verbs.targets import find


class NeedsConfirmation(Exception):
    """A destructive command without `--yes` and without a terminal to ask on."""


async def act(
    backend: BackendOptions,
    verb: str,
    target: str,
    reason: str,
    yes: bool,
    as_json: bool,
    out: TextIO | None = None,
    ask: Callable[[str], str] | None = None,
) -> int:
    out = out or sys.stdout
    session = await open_session(backend)
    try:
        row = find(session.state, target, session.known)
        key = row.key
        no_way = missing(row, verb)
        if no_way:  # the controller has no mechanism for it: bad input, not a refusal of the moment
            return _print(out, as_json, verb, key, False, no_way, code=BAD_INPUT)
        command = RolloutCommand(Verb(verb), key, reason)
        preview = await calls.preview(session.engine, command)
        if not preview.possible:
            return _print(out, as_json, verb, key, False, _why_not(preview))
        refusal = _confirm(preview, yes, ask)
        if refusal:
            return _print(out, as_json, verb, key, False, refusal, code=BAD_INPUT)
        result = await calls.execute(session.engine, command, preview, actor=backend.actor or operator())
        await session.advance(1.0)  # the next pass shows what the command did
    finally:
        await session.close()
    return _print(out, as_json, verb, key, result.ok, result.message)


def _why_not(preview: Preview) -> str:
    return preview.lines[0] if preview.lines else f"{preview.title} is not possible now"


def _confirm(preview: Preview, yes: bool, ask: Callable[[str], str] | None) -> str:
    """ "" when the command may go ahead, else the sentence saying why not."""
    if not preview.destructive or yes:
        return ""
    if ask is None and not sys.stdin.isatty():
        return (
            f"{preview.title} is destructive and there is no terminal to confirm it on; "
            "add --yes to confirm it in a pipeline."
        )
    ask = ask or input
    for line in preview.lines:
        print(f"  {clean(line)}", file=sys.stderr)
    if preview.confirm_name:
        typed = ask(f"{clean(preview.title)}: type {clean(preview.confirm_name)} to confirm: ")
        if typed.strip() != preview.confirm_name:
            return f"the name typed does not match {clean(preview.confirm_name)}; nothing was done."
        return ""
    typed = ask(f"{clean(preview.title)}? [y/N] ")
    return "" if typed.strip().lower() in ("y", "yes") else "not confirmed; nothing was done."


def _print(out: TextIO, as_json: bool, verb: str, key: str, ok: bool, message: str, code: int | None = None) -> int:
    code = code if code is not None else (OK if ok else FAILED)
    if as_json:
        emit(
            {"kind": "command", "verb": verb, "target": clean(key), "ok": ok, "message": clean(message), "exit": code},
            out,
        )
    else:
        if ok:
            print(clean(message), file=out)
        else:
            text = clean(message).removeprefix(f"{clean(key)}: ")  # a backend's sentence may name the target already
            print(f"shiftroom: {clean(key)}: {text}", file=sys.stderr)
    return code

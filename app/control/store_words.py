"""The sentences and small facts of store commands: what a command names, its title, its audit action.

Pure helpers for `StoreDesk`; no I/O.
"""

from __future__ import annotations

from typing import Any

from app.control import flag_edits, rawjson
from app.control.commands import (
    NEW_VERSION,
    Change,
    Command,
    KillFlag,
    RebuildCounters,
    RestoreFlag,
    SaveFlag,
    SetExperimentStatus,
)
from app.flag_json import validate_flag_config, validate_flag_name


def config(text: str) -> dict[str, Any]:
    found = rawjson.members(text) or []
    return {k: v for k, (v, problem, _) in rawjson.values(text, found).items() if not problem}


def subject(cmd: Command) -> tuple[str, str]:
    """("flag" | "experiment" | "target", its name)."""
    if isinstance(cmd, (SaveFlag, KillFlag, RestoreFlag)):
        return "flag", cmd.name
    if isinstance(cmd, (SetExperimentStatus, RebuildCounters)):
        return "experiment", cmd.experiment
    return "target", cmd.target


def reason_of(cmd: Command) -> str:
    return "" if isinstance(cmd, RebuildCounters) else cmd.reason


def what(cmd: Command) -> str:
    if isinstance(cmd, (SaveFlag, KillFlag, RestoreFlag)):
        return f"flag {cmd.name}"
    kind, name = subject(cmd)
    return f"{kind} {name}"


def target(cmd: Command) -> str:
    return what(cmd).replace(" ", "/", 1)


def title(cmd: Command) -> str:
    if isinstance(cmd, KillFlag):
        return f"Kill flag {cmd.name}?"
    if isinstance(cmd, RestoreFlag):
        return f"Restore flag {cmd.name}?"
    if isinstance(cmd, SaveFlag):
        return f"{'Create' if cmd.expected_version == NEW_VERSION else 'Save'} flag {cmd.name}?"
    if isinstance(cmd, SetExperimentStatus):
        return f"Set experiment {cmd.experiment} to {cmd.status}?"
    return f"Rebuild experiment {subject(cmd)[1]}'s counters?"


def action(cmd: Command, created: bool = False) -> str:
    if isinstance(cmd, KillFlag):
        return "flag-kill"
    if isinstance(cmd, RestoreFlag):
        return "flag-restore"
    if isinstance(cmd, SaveFlag):
        return "flag-create" if created else "flag-edit"
    if isinstance(cmd, SetExperimentStatus):
        return "experiment-status"
    return "counters-rebuild"


def done(cmd: Command, edit: flag_edits.Edit) -> str:
    if isinstance(cmd, KillFlag):
        return f"Flag {cmd.name} is off for every user in every environment; the previous values are kept under killed."
    if isinstance(cmd, RestoreFlag):
        return f"Flag {cmd.name} restored: {'; '.join(flag_edits.diff_lines(edit.before, edit.after))}."
    if isinstance(cmd, SetExperimentStatus):
        return f"Experiment {cmd.experiment}: status {edit.before.get('status')} → {cmd.status}."
    change = "; ".join(flag_edits.diff_lines(edit.before, edit.after)) or "no field changed"
    return f"Flag {subject(cmd)[1]} saved: {change}."


def changes(edit: flag_edits.Edit) -> list[Any]:
    keys = dict.fromkeys([*edit.before, *edit.after])
    return [
        Change(k, flag_edits.value_text(edit.before.get(k)), flag_edits.value_text(edit.after.get(k)))
        for k in keys
        if edit.before.get(k) != edit.after.get(k)
    ]


def save_problem(cmd: SaveFlag, edit: flag_edits.Edit) -> str:
    """Validation of what the save changes (a field the user did not touch is never judged)."""
    if cmd.expected_version == NEW_VERSION:
        try:
            validate_flag_name(cmd.name)
        except ValueError as exc:
            return str(exc)
    errors = validate_flag_config({k: v for k, v in edit.after.items() if v is not None})
    return " ".join(errors.values())

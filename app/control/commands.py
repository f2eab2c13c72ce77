"""Engine commands: every write the room or a CLI verb makes is one of these values.

A command names what is wanted (`SetPaused(target, True)`), never a toggle
computed from a snapshot that may be stale. The engine previews a command once
(`Engine.preview`), the preview carries the version of the state it was computed
from, and `Engine.execute(command, confirmed=preview)` refuses it with one
sentence (and the fresh preview) when that state has changed since.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verb(StrEnum):
    """What a rollout command asks of the target's controller."""

    STEP = "step"  # canary: go to the next weight now
    PROMOTE = "promote"  # canary: all traffic to the new revision and finish
    ABORT = "abort"  # canary: roll back (100% stable, canary scaled to 0)
    SWITCH = "switch"  # blue-green: switch to the idle colour, or back
    UNDO = "undo"  # `kubectl rollout undo` of the target's deployment
    PAUSE = "pause"  # set paused (idempotent: pausing a paused target says so)
    RESUME = "resume"  # set running (idempotent)
    AUTO = "auto"  # set automatic analysis on
    MANUAL = "manual"  # set manual driving (automatic analysis off)
    # Verbs of rollouts another controller drives (app/control/foreign.py), with their tools' meaning.
    PROMOTE_FULL = "promote-full"  # Argo: `promote --full` (skip remaining steps, pauses and analysis)
    RETRY = "retry"  # Argo: `retry` an aborted rollout
    RESTART = "restart"  # Argo: `restart` (spec.restartAt = now)
    SKIP_ANALYSIS = "skip-analysis"  # Flagger: spec.skipAnalysis (promotes without checks)
    OPEN_GATE = "open-gate"  # Flagger load tester: open the `gate` ("promotion" or "rollback")
    CLOSE_GATE = "close-gate"  # Flagger load tester: close it


DESTRUCTIVE = frozenset({Verb.PROMOTE, Verb.ABORT, Verb.SWITCH, Verb.UNDO, Verb.PROMOTE_FULL, Verb.SKIP_ANALYSIS})


@dataclass(frozen=True)
class RolloutCommand:
    verb: Verb
    target: str  # Target.key: "namespace/name"
    reason: str = ""
    revision: int | None = None  # UNDO: the revision to go back to (None: the previous one)
    gate: str = ""  # OPEN_GATE / CLOSE_GATE: "promotion" or "rollback"


@dataclass(frozen=True)
class SaveFlag:
    """Create (`expected_version == NEW_VERSION`) or edit a flag, unless it changed since it was read."""

    name: str
    config: Mapping[str, Any]
    expected_version: str | None
    reason: str = ""


@dataclass(frozen=True)
class KillFlag:
    """Turn a flag off for everyone, everywhere, keeping a restorable `killed` record."""

    name: str
    reason: str


@dataclass(frozen=True)
class RestoreFlag:
    """Bring back the values a kill saved under `killed`."""

    name: str
    reason: str = ""


@dataclass(frozen=True)
class SetExperimentStatus:
    experiment: str
    status: str  # "active", "paused", ...
    reason: str = ""


@dataclass(frozen=True)
class RebuildCounters:
    """Recount an experiment's counters from the seed's event lists: a long job in `RoomState.jobs`."""

    experiment: str


@dataclass(frozen=True)
class BootstrapCanary:
    """Create Flagger's layout around a canary target's existing deployment (`<d>-primary`, the Services,
    the route at 100/0, then `<d>` scaled to 0): only what is missing; nothing is replaced or deleted."""

    target: str  # Target.key
    reason: str = ""


#: The key and the `Rollout.denied` name of a bootstrap (it is no `Verb`: no controller takes it).
BOOTSTRAP = "bootstrap"

Command = RolloutCommand | SaveFlag | KillFlag | RestoreFlag | SetExperimentStatus | RebuildCounters | BootstrapCanary

#: The version token of a flag that does not exist yet: a write naming it only creates.
NEW_VERSION = "0"


def target_of(command: Command) -> str:
    """The one object a command touches, as the room names it (for toasts and audit)."""
    if isinstance(command, (RolloutCommand, BootstrapCanary)):
        return command.target
    if isinstance(command, (SaveFlag, KillFlag, RestoreFlag)):
        return f"flag {command.name}"
    return f"experiment {command.experiment}"


@dataclass(frozen=True)
class Change:
    """One line of a preview: a field and its value before and after."""

    what: str
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Preview:
    """Exactly what a command would change, computed once from one version of the state."""

    command: Command
    title: str
    lines: tuple[str, ...] = ()
    version: str = ""  # the state the preview was computed from; execute() refuses a stale one
    destructive: bool = False
    confirm_name: str | None = None  # production targets: this name must be typed
    possible: bool = True  # False: the command does not apply now (`lines[0]` says why)
    changes: tuple[Change, ...] = field(default=())


@dataclass(frozen=True)
class Result:
    """What the engine answers: `ok`, one sentence naming the target, and a fresh preview when refused as stale."""

    ok: bool
    message: str
    target: str = ""
    stale: bool = False
    preview: Preview | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # e.g. per-field errors, conflict data

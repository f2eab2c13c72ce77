"""Finding the rollout a verb names, and what `wait --until` means for it."""

from __future__ import annotations

from app.model import Phase, Rollout, RoomState
from app.sanitize import clean
from app.verbs import UNTIL  # noqa: F401 - re-exported

#: Phases of a finished release, a failed one, and one whose traffic has gone (or is going) to the new
#: revision, in Flagger's vocabulary and Argo Rollouts' (Healthy, Degraded) alike.
SUCCEEDED = (Phase.SUCCEEDED, Phase.HEALTHY)
FAILED = (Phase.FAILED, Phase.DEGRADED, Phase.TERMINATED)
PROMOTED = (Phase.PROMOTING, Phase.FINALISING, *SUCCEEDED)


class UnknownTarget(Exception):
    """One sentence naming the target and listing the known ones."""


def find(state: RoomState, name: str) -> Rollout:
    """`namespace/name`, or a bare name when only one namespace has it."""
    exact = [r for r in state.rollouts if r.key == name]
    by_name = [r for r in state.rollouts if r.name == name]
    if exact:
        return exact[0]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        keys = ", ".join(clean(r.key) for r in by_name)
        raise UnknownTarget(f"shiftroom: {clean(name)!r} is in several namespaces ({keys}); name it as namespace/name.")
    known = ", ".join(clean(r.key) for r in state.rollouts) or "none"
    raise UnknownTarget(f"shiftroom: there is no target {clean(name)!r}; the known targets are: {known}.")


def judge(r: Rollout, until: str) -> str | None:
    """ "reached", "failed" (it can no longer get there this release), or None (keep waiting)."""
    if until == "Succeeded":
        return "reached" if r.phase in SUCCEEDED else "failed" if r.phase in FAILED else None
    if until == "Failed":
        return "reached" if r.phase in FAILED else "failed" if r.phase in SUCCEEDED else None
    if until == "Promoted":
        return "reached" if r.phase in PROMOTED else "failed" if r.phase in FAILED else None
    if until == "Paused":
        if r.paused or r.phase is Phase.PAUSED:
            return "reached"
        return "failed" if r.phase in SUCCEEDED + FAILED else None
    raise ValueError(f"unknown --until {until!r}")


def parse_duration(text: str) -> float:
    """ "30m", "90s", "1h", "1h30m" or plain seconds; raises ValueError with a sentence."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    rest = text.strip().lower()
    try:
        return _positive(float(rest), text)
    except ValueError as err:
        if "greater than 0" in str(err):
            raise
    total, number = 0.0, ""
    for ch in rest:
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in units and number:
            total += float(number) * units[ch]
            number = ""
        else:
            raise ValueError(f"{text!r} is not a duration; write it like 90s, 30m or 1h30m")
    if number:
        raise ValueError(f"{text!r} is not a duration; write it like 90s, 30m or 1h30m")
    return _positive(total, text)


def _positive(value: float, text: str) -> float:
    if not value > 0:
        raise ValueError(f"{text!r}: the timeout must be greater than 0")
    return value

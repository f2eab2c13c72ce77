"""Finding the rollout a verb names, and reading `--timeout` (what `--until` means: `app.verbs.phases`)."""

from __future__ import annotations

from collections.abc import Iterable

from app.model import Rollout, RoomState
from app.sanitize import clean
from app.verbs import UNTIL  # noqa: F401 - re-exported


class UnknownTarget(Exception):
    """One sentence naming the target and listing the known ones."""


def find(state: RoomState, name: str, also: Iterable[str] = ()) -> Rollout:
    """`namespace/name`, or a bare name when only one namespace has it. `also`: keys of targets the
    session knows but did not open (listed when the name is unknown)."""
    exact = [r for r in state.rollouts if r.key == name]
    by_name = [r for r in state.rollouts if r.name == name]
    if exact:
        return exact[0]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        keys = ", ".join(clean(r.key) for r in by_name)
        raise UnknownTarget(f"shiftroom: {clean(name)!r} is in several namespaces ({keys}); name it as namespace/name.")
    known = ", ".join(clean(k) for k in sorted({r.key for r in state.rollouts} | set(also))) or "none"
    raise UnknownTarget(f"shiftroom: there is no target {clean(name)!r}; the known targets are: {known}.")


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

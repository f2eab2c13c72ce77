"""Stored values to model objects, whatever the bytes hold: a value, or an "invalid" sentence.

Every reader of `feature:*` / `experiment:*` goes through these two functions,
so one bad value (a thousand levels of nesting, a number no float can hold, a
hash where a string was expected) is listed as invalid and never hides the rest.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.experiments import parse_experiment
from app.flag_json import parse_flag
from app.model import Experiment, Flag

#: What a parser may raise on hostile input besides its own "invalid" results.
PARSE_ERRORS = (ValueError, TypeError, KeyError, RecursionError, OverflowError, MemoryError, UnicodeError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it nests too deeply to read"
    if isinstance(exc, OverflowError):
        return "it holds a number too large to read"
    return f"it cannot be read ({type(exc).__name__})"


def flag_from(name: str, raw: bytes | None, redis_type: str = "") -> Flag:
    if raw is None:
        return Flag(
            name=name,
            error=f"Flag {name} is stored as a Redis {redis_type or 'value of another type'}, not a JSON string.",
        )
    try:
        return parse_flag(name, raw)
    except PARSE_ERRORS as exc:
        return Flag(name=name, error=f"Flag {name} is not usable: {_reason(exc)}.")


def experiment_from(
    experiment_id: str, raw: bytes | None, redis_type: str = "", stats: Mapping[str, tuple[int, int]] | None = None
) -> Experiment:
    if raw is None:
        return Experiment(
            id=experiment_id,
            error=f"Experiment {experiment_id} is stored as a Redis "
            f"{redis_type or 'value of another type'}, not a JSON string.",
        )
    try:
        return parse_experiment(experiment_id, raw, stats)
    except PARSE_ERRORS as exc:
        return Experiment(id=experiment_id, error=f"Experiment {experiment_id} is not usable: {_reason(exc)}.")

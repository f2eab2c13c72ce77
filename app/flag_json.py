"""A flag's stored JSON: names, validation, parsing into a `Flag` and writing back.

Parsing never raises and never coerces: a field of the wrong type
(`"enabled": "yes"`, `"percentage": "20"`, `"environments": "production"`,
`"userWhitelist": [1, 2]`) is not turned into something else, it is named with
its stored value in `Flag.error` and left at the model's default, so the room
shows the flag as invalid rather than as something it is not. Bytes go through
`app.safejson`, so depth, number range, duplicate keys, NaN, BOM and non-UTF-8
are each one phrase. Pure code: no I/O.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from app import safejson
from app.model import Flag

#: Longest flag name accepted for new flags (Redis keys allow more; screens do not).
MAX_NAME_LENGTH = 128
#: Characters a name may not contain: Redis glob metacharacters and the key separator.
FORBIDDEN_NAME_CHARS = frozenset(":*?[]\\")
BUCKETINGS = ("seed", "flag-salted")
_JSON_KEYS = {"user_whitelist": "userWhitelist"}  # Flag field -> JSON key where they differ
#: Longest rendering of a stored value inside a reason.
_SHOWN = 40


def validate_flag_name(name: str) -> None:
    """Raise ValueError (one sentence) unless `name` is safe for a *new* flag `feature:<name>`.

    Rule: 1..128 characters; no `:` (the key separator), no Redis glob
    metacharacters `*`, `?`, `[`, `]`, `\\`, no whitespace and no control or
    other non-printing characters. Existing flags are never refused for their
    name: the seed accepts any name after `feature:`.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("A flag name cannot be empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"A flag name has at most {MAX_NAME_LENGTH} characters, this one has {len(name)}.")
    for ch in name:
        if ch in FORBIDDEN_NAME_CHARS:
            raise ValueError(f"A flag name cannot contain {ch!r}: it would escape the feature: key prefix.")
        if ch.isspace() or unicodedata.category(ch).startswith("C"):
            raise ValueError(f"A flag name cannot contain whitespace or control characters (found {ch!r}).")


def _is_number(v: Any) -> bool:
    """A JSON number a double holds (a huge Python int is not: `math.isfinite` would overflow on it)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return abs(v) < 2**1023 if isinstance(v, int) else math.isfinite(v)


def shown(value: Any) -> str:
    """A stored value as it is written in JSON, cut to a few dozen characters (not sanitized)."""
    try:
        text = safejson.dumps(value)
    except ValueError:
        text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _strings(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _list_reason(field: str, v: Any, what: str) -> str:
    if isinstance(v, list):
        bad = next(x for x in v if not isinstance(x, str))
        return f"{field} must be a list of {what} strings; it holds {safejson.kind(bad)} {shown(bad)}."
    return f"{field} must be a list of {what} strings, not {safejson.kind(v)} {shown(v)}."


def validate_flag_config(config: Any) -> dict[str, str]:
    """Field -> reason (one sentence naming the stored value) for every field that is wrong; {} when valid.

    Unknown fields are allowed (and kept on write).
    """
    if not isinstance(config, Mapping):
        return {"config": f"A flag must be a JSON object, not {safejson.kind(config)}."}
    errors: dict[str, str] = {}
    if "enabled" in config and not isinstance(config["enabled"], bool):
        v = config["enabled"]
        errors["enabled"] = f"enabled must be true or false, not {safejson.kind(v)} {shown(v)}."
    envs = config.get("environments")
    if envs is not None and not _strings(envs):
        errors["environments"] = _list_reason("environments", envs, "environment").replace(
            " strings", " strings (or absent for all environments)", 1
        )
    wl = config.get("userWhitelist")
    if wl is not None and not _strings(wl):
        errors["userWhitelist"] = _list_reason("userWhitelist", wl, "user id")
    if "percentage" in config:
        p = config["percentage"]
        if not _is_number(p):
            errors["percentage"] = f"percentage must be a number from 0 to 100, not {safejson.kind(p)} {shown(p)}."
        elif not 0 <= p <= 100:
            errors["percentage"] = f"percentage must be between 0 and 100, not {shown(p)}."
    if "public" in config and not isinstance(config["public"], Mapping):
        v = config["public"]
        errors["public"] = f"public must be a JSON object, not {safejson.kind(v)} {shown(v)}."
    if "bucketing" in config and config["bucketing"] not in BUCKETINGS:
        errors["bucketing"] = f'bucketing must be "seed" or "flag-salted", not {shown(config["bucketing"])}.'
    return errors


def field_errors(flag: Flag | Mapping[str, Any] | Any) -> dict[str, str]:
    """The per-field reasons for a stored flag config (a mapping); {} for anything else valid."""
    return validate_flag_config(flag) if isinstance(flag, Mapping) else {}


def _sentence(name: str, errors: Mapping[str, str]) -> str:
    return f"Flag {name}: " + "; ".join(reason.rstrip(".") for reason in errors.values()) + "."


def parse_flag(name: str, raw: bytes | str | Mapping[str, Any]) -> Flag:
    """A `Flag` from the stored JSON; never raises. Invalid data sets `error` (one sentence).

    Fields that are valid are read; a wrong-typed field keeps the model's
    default and is named in `error` with its stored value: nothing is coerced.
    """
    if isinstance(raw, Mapping):
        data: Any = raw
    else:
        parsed = safejson.loads_object(raw)
        if not parsed.ok:
            return Flag(name=name, error=f"Flag {name} is not a valid JSON object: {parsed.error}.")
        data = parsed.value
    errors = validate_flag_config(data)
    if "config" in errors:
        return Flag(name=name, error=f"Flag {name} is not a JSON object.")
    kw: dict[str, Any] = {}
    if "enabled" not in errors:
        kw["enabled"] = data.get("enabled", False) is True
    if "environments" not in errors and data.get("environments") is not None:
        kw["environments"] = tuple(data["environments"])
    if "userWhitelist" not in errors and data.get("userWhitelist") is not None:
        kw["user_whitelist"] = tuple(data["userWhitelist"])
    if "percentage" not in errors and "percentage" in data:
        kw["percentage"] = float(data["percentage"])
    if "public" not in errors and "public" in data:
        kw["public"] = dict(data["public"])
    if "bucketing" not in errors and "bucketing" in data:
        kw["bucketing"] = data["bucketing"]
    return Flag(name=name, error=_sentence(name, errors) if errors else "", **kw)


def _json_number(x: float) -> int | float:
    return int(x) if isinstance(x, float) and x.is_integer() else x


def flag_to_json(changes: Flag | Mapping[str, Any], original: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON to store: `original` with `changes` applied, unknown fields kept.

    `changes` is a `Flag` (every known field is taken from it) or a mapping of
    the fields to change, keyed by JSON name (`userWhitelist`) or model name
    (`user_whitelist`); a value of None removes the field. Fields the original
    lacks and the change leaves at their default are not added, so a flag read
    and written back unchanged stores the same JSON.
    """
    out: dict[str, Any] = dict(original or {})
    if isinstance(changes, Flag):
        items: dict[str, Any] = {
            "enabled": changes.enabled,
            "environments": None if changes.environments is None else list(changes.environments),
            "userWhitelist": list(changes.user_whitelist),
            "percentage": changes.percentage,
            "public": dict(changes.public),
            "bucketing": changes.bucketing,
        }
        defaults = {"enabled": False, "userWhitelist": [], "percentage": 0, "public": {}, "bucketing": "seed"}
        # a field stored with the wrong type was never read into the Flag: keep it as stored
        unread = set(validate_flag_config(out)) if changes.error else set()
        for key, value in items.items():
            if key in unread or (key not in out and (value is None or defaults.get(key) == value)):
                continue
            _set(out, key, value)
        return out
    for key, value in changes.items():
        _set(out, _JSON_KEYS.get(key, key), value)
    return out


def _set(out: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        out.pop(key, None)
        return
    if isinstance(value, tuple):
        value = list(value)
    if key == "percentage" and _is_number(value):
        value = _json_number(float(value))
    out[key] = value

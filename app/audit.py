"""Audit records as people read them: one line per event, JSON for scripts.

Pure helpers, no I/O: `shiftroom audit` prints `format_event` lines, and
`shiftroom audit --json` prints `events_to_json`. `describe_changes` is the
"what changed" phrase shared by audit lines and conflict messages.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app import safejson
from app.model import AuditEvent, Level
from app.sanitize import clean

#: Longest rendering of one value inside a one-line description.
MAX_VALUE_CHARS = 40


def iso_time(t: float) -> str:
    """`2026-01-01T00:00:00Z` (UTC, whole seconds) for a clock time; the number itself when no date has it."""
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"t={t!r}"


def _short(value: Any) -> str:
    if value is None:
        text = "absent"
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


_MISSING = object()


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """Top-level fields whose value differs, in `before`'s order, then new fields."""
    b = dict(before or {})
    a = dict(after or {})
    keys = list(b) + [k for k in a if k not in b]
    return [k for k in keys if b.get(k, _MISSING) != a.get(k, _MISSING)]


def describe_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, limit: int = 4) -> str:
    """`enabled true → false, percentage 25 → 0` (at most `limit` fields, then "and N more").

    Empty string when nothing differs.
    """
    b = dict(before or {})
    a = dict(after or {})
    fields = changed_fields(b, a)
    parts = [f"{k} {_short(b.get(k))} → {_short(a.get(k))}" for k in fields[:limit]]
    if len(fields) > limit:
        parts.append(f"and {len(fields) - limit} more")
    return ", ".join(parts)


def _one_line(text: str) -> str:
    return clean(" ".join(text.split()))


def format_event(e: AuditEvent) -> str:
    """One line: time, level, actor, action, target, reason and what changed; every field sanitized."""
    line = f"{iso_time(e.t)} {e.level.value.upper():5} {_one_line(e.actor)} {_one_line(e.action)} {_one_line(e.target)}"
    if e.reason:
        line += f": {_one_line(e.reason)}"
    change = describe_changes(e.before, e.after) if (e.before or e.after) else ""
    if change:
        line += f" ({_one_line(change)})"
    return " ".join(line.split())  # one line, whatever the reason contained


def event_to_json(e: AuditEvent) -> dict[str, Any]:
    data = e.model_dump(mode="json")
    data["time"] = iso_time(e.t)
    return data


def events_to_json(events: Iterable[AuditEvent]) -> list[dict[str, Any]]:
    """JSON-ready dicts (the model's fields plus `time`, ISO 8601 UTC), in the given order."""
    return [event_to_json(e) for e in events]


def _utf8(text: str) -> str:
    """`text` as valid UTF-8 can carry it: a lone surrogate becomes its `\\udXXX` escape."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _json_text(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, RecursionError):
        return json.dumps({"unserialisable": repr(value)[:200]})
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:  # lone surrogates: the escaped form is still the same JSON value
        return json.dumps(value, separators=(",", ":"), default=str)


def event_fields(e: AuditEvent) -> dict[str, str]:
    """The flat string fields an audit record is stored as (a Redis stream entry); always valid UTF-8."""
    return {
        "actor": _utf8(e.actor),
        "t": repr(float(e.t)),
        "target": _utf8(e.target),
        "action": _utf8(e.action),
        "reason": _utf8(e.reason),
        "before": _json_text(e.before),
        "after": _json_text(e.after),
        "level": e.level.value,
    }


# ---------------------------------------------------------------- signatures (audit.key_file)
#: Fields a signed entry adds: the id of the entry before it in the stream, and the HMAC.
PREV, SIG = "prev", "sig"


def sign_fields(fields: Mapping[str, str], prev: str, key: bytes) -> dict[str, str]:
    """`fields` plus `prev` and an HMAC-SHA256 over every field and `prev` (the chain)."""
    out = {k: v for k, v in fields.items() if k not in (PREV, SIG)}
    out[PREV] = prev
    out[SIG] = _mac(out, key)
    return out


def _mac(fields: Mapping[str, str], key: bytes) -> str:
    canonical = json.dumps(sorted((k, v) for k, v in fields.items() if k != SIG), ensure_ascii=True)
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def check_entry(fields: Mapping[str, str], previous_id: str | None, key: bytes) -> str:
    """ "" when the entry is signed, intact and chained to `previous_id`; else why not, in a few words.

    `previous_id` None means the entry before it is not known (the oldest entry kept):
    its chain cannot be checked, only its signature.
    """
    sig = fields.get(SIG)
    if not sig:
        return "unsigned"
    if not hmac.compare_digest(sig, _mac(fields, key)):
        return "altered"
    if previous_id is not None and fields.get(PREV, "") != previous_id:
        return f"chain broken: the entry before it should be {fields.get(PREV) or 'none'}, found {previous_id}"
    return ""


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"unreadable": text}
    return value if isinstance(value, dict) else {"value": value}


def event_from_fields(fields: Mapping[str, str], fallback_t: float = 0.0) -> AuditEvent:
    """Back from `event_fields`; lenient, so a record written by another tool still shows."""
    try:
        t = float(fields.get("t", ""))
    except ValueError:
        t = fallback_t
    if not 0 <= t <= MAX_T:  # inf, NaN or no time any clock wrote: the entry id's time instead
        t = fallback_t
    try:
        level = Level(fields.get("level", "info"))
    except ValueError:
        level = Level.INFO
    return AuditEvent(
        t=t,
        actor=fields.get("actor", "") or "?",
        target=fields.get("target", ""),
        action=fields.get("action", "") or "?",
        reason=fields.get("reason", ""),
        before=_json_object(fields.get("before", "")),
        after=_json_object(fields.get("after", "")),
        level=level,
    )


# ---------------------------------------------------------------- reading stream entries strictly

#: Fields a Shiftroom audit entry always has.
REQUIRED = ("t", "actor", "target", "action")
#: Latest time accepted (year 9999): a later one is not a time any clock wrote.
MAX_T = 253_402_300_799.0


@dataclass(frozen=True)
class InvalidEntry:
    """A stream entry that is not an audit record Shiftroom can show as one: its id, why, its fields as text."""

    entry_id: str
    error: str
    fields: dict[str, str] = field(default_factory=dict)


def _text(value: bytes | str, name: str) -> tuple[str, str]:
    if isinstance(value, str):
        return value, ""
    text, problem = safejson.decode(value)
    if problem:
        return value.decode("utf-8", "backslashreplace"), f"field {name!r} is {problem}"
    return text, ""


def format_invalid(entry: InvalidEntry) -> str:
    """One sanitized line for an entry that is not a valid audit record."""
    return f"{clean(entry.entry_id)} INVALID {clean(entry.error)}"


def parse_entry(entry_id: bytes | str, fields: Mapping[bytes | str, bytes | str]) -> AuditEvent | InvalidEntry:
    """A stream entry as an `AuditEvent`, or an `InvalidEntry` saying why not. Never raises.

    Strict where `event_from_fields` is lenient: every required field present
    and UTF-8, `t` a finite time, `level` one of info/warn/error, `before` and
    `after` JSON objects (or empty). Unknown fields are ignored.
    """
    eid = entry_id.decode("utf-8", "backslashreplace") if isinstance(entry_id, bytes) else str(entry_id)
    text: dict[str, str] = {}
    problems: list[str] = []
    for key, value in fields.items():
        name = key.decode("utf-8", "backslashreplace") if isinstance(key, bytes) else str(key)
        text[name], problem = _text(value, name)
        if problem:
            problems.append(problem)
    missing = [f for f in REQUIRED if not text.get(f)]
    if missing:
        problems.append(f"it lacks {', '.join(missing)}")
    try:
        t = float(text.get("t", ""))
    except ValueError:
        t = -1.0
    if "t" not in missing and not 0 <= t <= MAX_T:  # NaN fails both comparisons
        problems.append(f"t {safejson.kind(text['t'])} {text['t'][:24]!r} is not a time")
    try:
        level = Level(text.get("level") or "info")
    except ValueError:
        problems.append(f"level {text.get('level', '')[:24]!r} is not info, warn or error")
        level = Level.INFO
    sides: dict[str, dict[str, Any]] = {}
    for side in ("before", "after"):
        raw = text.get(side, "")
        parsed = safejson.loads_object(raw) if raw else safejson.Parsed({})
        if not parsed.ok:
            problems.append(f"{side} is not a JSON object ({parsed.error})")
        sides[side] = parsed.value if parsed.ok else {}
    if problems:
        return InvalidEntry(eid, f"Audit entry {eid}: {'; '.join(problems)}.", text)
    return AuditEvent(
        t=t,
        actor=text["actor"],
        target=text["target"],
        action=text["action"],
        reason=text.get("reason", ""),
        before=sides["before"],
        after=sides["after"],
        level=level,
    )

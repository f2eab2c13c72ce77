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
from datetime import UTC, datetime
from typing import Any

from app.model import AuditEvent, Level

#: Longest rendering of one value inside a one-line description.
MAX_VALUE_CHARS = 40


def iso_time(t: float) -> str:
    """`2026-01-01T00:00:00Z` (UTC, whole seconds) for a clock time."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def format_event(e: AuditEvent) -> str:
    """One line: time, level, actor, action, target, reason and what changed."""
    line = f"{iso_time(e.t)} {e.level.value.upper():5} {e.actor} {e.action} {e.target}"
    if e.reason:
        line += f": {e.reason}"
    change = describe_changes(e.before, e.after) if (e.before or e.after) else ""
    if change:
        line += f" ({change})"
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
    """"" when the entry is signed, intact and chained to `previous_id`; else why not, in a few words.

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

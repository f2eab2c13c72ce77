"""Audit records as people read them: one line per event, JSON for scripts.

Pure helpers, no I/O: `shiftroom audit` prints `format_event` lines, and
`shiftroom audit --json` prints `events_to_json`. `describe_changes` is the
"what changed" phrase shared by audit lines and conflict messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from app.model import AuditEvent, Level

#: Longest rendering of one value inside a one-line description.
MAX_VALUE_CHARS = 40


def iso_time(t: float) -> str:
    """`2026-01-01T00:00:00Z` (UTC, whole seconds) for a clock time."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def event_fields(e: AuditEvent) -> dict[str, str]:
    """The flat string fields an audit record is stored as (a Redis stream entry)."""
    return {
        "actor": e.actor,
        "t": repr(float(e.t)),
        "target": e.target,
        "action": e.action,
        "reason": e.reason,
        "before": json.dumps(e.before, ensure_ascii=False, separators=(",", ":"), default=str),
        "after": json.dumps(e.after, ensure_ascii=False, separators=(",", ":"), default=str),
        "level": e.level.value,
    }


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

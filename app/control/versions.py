"""A preview's version: the state it was computed from, and what changed since, in one sentence."""

from __future__ import annotations

import json
from collections.abc import Mapping


def encode(fields: Mapping[str, str], *, driver: str) -> str:
    return json.dumps({**fields, "driver": driver}, sort_keys=True, separators=(",", ":"))


def _decode(version: str) -> dict[str, str]:
    try:
        out = json.loads(version)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in out.items()} if isinstance(out, dict) else {}


def changes(old: str, new: str) -> list[str]:
    """`weight 20 → 30`, one per field that differs; resource versions only when nothing else explains it."""
    a, b = _decode(old), _decode(new)
    diffs = [(k, a.get(k, ""), b.get(k, "")) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    plain = [d for d in diffs if not d[0].endswith("version")]
    shown = plain or diffs
    return [f"{k} {v0 or '(none)'} → {v1 or '(none)'}" for k, v0, v1 in shown]


def stale_message(target: str, old: str, new: str) -> str:
    what = "; ".join(changes(old, new)) or "its state changed"
    return f"{target} changed since the preview: {what}; check the new preview"

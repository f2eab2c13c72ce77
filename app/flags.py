"""Feature-flag evaluation, bit-compatible with the seed's flag service (app.js)."""

from __future__ import annotations

from typing import Any


def seed_hash(s: str) -> int:
    """The seed's JavaScript `simpleHash`: over UTF-16 code units, 32-bit wrap, `Math.abs`."""
    h = 0
    data = s.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        unit = data[i] | (data[i + 1] << 8)
        h = ((h << 5) - h + unit) & 0xFFFFFFFF
    if h >= 0x80000000:
        h -= 0x100000000
    return abs(h)


def evaluate(config: dict[str, Any], user_id: str | None, environment: str | None) -> bool:
    """The seed's `evaluateFlag`, quirks included."""
    envs = config.get("environments")
    if envs and not _js_includes(envs, environment):
        return False
    wl = config.get("userWhitelist")
    if wl and _js_includes(wl, user_id):
        return True
    pct = config.get("percentage")
    if pct:
        return (seed_hash(user_id or "anonymous") % 100) < pct
    return bool(config.get("enabled")) or False


def _js_includes(seq: Any, value: Any) -> bool:
    try:
        return value in seq
    except TypeError:
        return False

"""Defensive reading of another controller's object: a malformed field is one sentence, never an exception.

`Fields(body, "Canary shop/web")` reads dotted paths (`spec.analysis.threshold`) with
an expected type; a missing field gives the default, a field of the wrong type gives
the default and records the first problem as a sentence naming the object and field.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, TypeVar

from app.sanitize import clean

T = TypeVar("T")

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


def go_duration(text: str) -> float | None:
    """Seconds of a Go `time.ParseDuration` string ("30s", "1m30s", "500ms"); None when it is not one."""
    s = text.strip()
    if s in ("0", ""):
        return 0.0 if s == "0" else None
    parts = _GO_PART.findall(s)
    if not parts or "".join(n + u for n, u in parts) != s:
        return None
    return sum(float(n) * _GO_UNITS[u] for n, u in parts)


def rfc3339(text: str) -> float | None:
    """Epoch seconds of a Kubernetes timestamp ("2026-12-02T06:00:00Z"); None when it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


def _kind_ok(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _type_word(value: Any) -> str:
    for kind, word in _TYPE_NAMES.items():
        if _kind_ok(value, kind):
            return word
    return "null" if value is None else type(value).__name__


class Fields:
    """Typed, defensive access to one object's fields; `problem` is the first malformed field, as a sentence."""

    def __init__(self, body: Any, what: str) -> None:
        self.what = what
        self.problems: list[str] = []
        if not isinstance(body, dict):
            self.problems.append(f"{what} is not an object; check what the API server returned.")
            body = {}
        self.body: dict[str, Any] = body

    @property
    def problem(self) -> str:
        return clean(self.problems[0], 300) if self.problems else ""

    def _bad(self, path: str, value: Any, kind: type) -> None:
        hint = "its controller wrote what the room cannot read" if path.startswith("status") else "fix the manifest"
        expected = _TYPE_NAMES.get(kind, kind.__name__)
        self.problems.append(f"{self.what}: {path} is {_type_word(value)}, expected {expected}; {hint}.")

    def raw(self, path: str, base: Any = None) -> Any:
        node: Any = self.body if base is None else base
        walked = ""
        for key in path.split("."):
            if node is None:
                return None
            if not isinstance(node, dict):
                self._bad(walked or path, node, dict)
                return None
            node = node.get(key)
            walked = f"{walked}.{key}" if walked else key
        return node

    def get(self, path: str, kind: type[T], default: T, base: Any = None, label: str = "") -> T:
        """The value at `path` (below `base` when given; `label` names it in sentences)."""
        value = self.raw(path, base)
        if value is None:
            return default
        if not _kind_ok(value, kind):
            self._bad(f"{label}.{path}" if label else path, value, kind)
            return default
        if kind is float:
            return float(value)  # type: ignore[return-value]
        return value  # type: ignore[no-any-return]

    def items(self, path: str, base: Any = None, label: str = "") -> list[dict[str, Any]]:
        """A list of objects; entries that are not objects are reported and left out."""
        values = self.get(path, list, [], base, label)
        out: list[dict[str, Any]] = []
        for i, item in enumerate(values):
            if isinstance(item, dict):
                out.append(item)
            else:
                self._bad(f"{label + '.' if label else ''}{path}[{i}]", item, dict)
        return out

    def entry(self, path: str, key: str, base: Any = None) -> str:
        """A string entry of a map whose keys hold dots (annotations, labels): `entry("metadata.annotations", k)`."""
        found = self.get(path, dict, {}, base)
        value = found.get(key)
        return value if isinstance(value, str) else ""

    def duration(self, path: str, default: float, base: Any = None, label: str = "") -> float:
        text = self.get(path, str, "", base, label)
        if not text:
            return default
        seconds = go_duration(text)
        if seconds is None:
            where = f"{label}.{path}" if label else path
            self.problems.append(f"{self.what}: {where} '{text}' is not a duration such as 30s or 1m.")
            return default
        return seconds

    def time(self, path: str, base: Any = None) -> float | None:
        text = self.get(path, str, "", base)
        if not text:
            return None
        moment = rfc3339(text)
        if moment is None:
            self.problems.append(f"{self.what}: {path} '{text}' is not an RFC 3339 time.")
        return moment

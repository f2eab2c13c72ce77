"""Version tokens, JSON in and out, and key text: what every Redis object shares.

A version token is a hash of the stored bytes ("0" for an absent key): it
changes exactly when the value does, whoever wrote it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from app import safejson
from backends.base import Invalid

ABSENT = "0"  # the version token of a key that does not exist
BACKEND = "redis"


def version_of(raw: bytes | None) -> str:
    if raw is None:
        return ABSENT
    return hashlib.blake2b(raw, digest_size=10).hexdigest()


def glob_escape(text: str) -> str:
    """`text` matched literally inside a SCAN/PSUBSCRIBE glob pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _js_numbers(value: Any) -> Any:
    """Integral floats as ints, recursively: `JSON.stringify(25.0)` is `25`."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("NaN and infinities are not JSON")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, Mapping):
        return {str(k): _js_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_js_numbers(v) for v in value]
    return value


def dump_json(value: Mapping[str, Any], what: str, *, compact: bool) -> bytes:
    """The bytes to store for a JSON object.

    compact=True writes what the seed's Node service writes (`JSON.stringify`:
    no spaces, non-ASCII kept); compact=False what its Python manager would
    (`json.dumps` defaults). Key order is kept either way.
    """
    if not isinstance(value, Mapping):
        raise Invalid(BACKEND, f"{what} must be a JSON object.")
    try:
        if compact:
            plain = _js_numbers(value)
            text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: keep it as the `\\ud800` escape it came as
                return json.dumps(plain, separators=(",", ":"), allow_nan=False).encode("ascii")
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError, OverflowError) as exc:
        raise Invalid(BACKEND, f"{what} cannot be stored as JSON ({type(exc).__name__}: {exc}).") from None
    return text.encode("utf-8")


def load_object(raw: bytes) -> dict[str, Any] | None:
    """The JSON object in `raw`, or None when it is not one."""
    parsed = safejson.loads_object(raw)
    return parsed.value if parsed.ok else None


def as_bytes(value: bytes | str | None) -> bytes | None:
    """A reply as bytes (the client never decodes, but its types allow str)."""
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value


def key_text(key: bytes | str) -> str:
    return key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key

"""Feature-flag evaluation, bit-compatible with the seed's flag service (app.js).

The seed stores `feature:<name>` as JSON and evaluates it with `evaluateFlag`
and `simpleHash`. `seed_hash` and `evaluate` reproduce both exactly, including
JavaScript's truthiness and `includes` semantics, so a flag behaves the same
whether the seed service or Shiftroom evaluates it. Everything here is pure:
no I/O, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.flag_json import (  # re-exported: parsing and validation live there
    BUCKETINGS,
    FORBIDDEN_NAME_CHARS,
    MAX_NAME_LENGTH,
    field_errors,
    flag_to_json,
    parse_flag,
    validate_flag_config,
    validate_flag_name,
)

__all__ = [
    "BUCKETINGS",
    "FORBIDDEN_NAME_CHARS",
    "MAX_NAME_LENGTH",
    "FlagEvaluationError",
    "bucket",
    "bucket_histogram",
    "cohort_diff",
    "evaluate",
    "field_errors",
    "flag_to_json",
    "hash_numbered_ids",
    "parse_flag",
    "seed_hash",
    "served",
    "validate_flag_config",
    "validate_flag_name",
]


class FlagEvaluationError(TypeError):
    """The seed's `evaluateFlag` would throw (and its service answer HTTP 500)."""


# ---------------------------------------------------------------- hashing


def seed_hash(s: str) -> int:
    """The seed's JavaScript `simpleHash`, bit for bit.

    JS strings are UTF-16: `charCodeAt` walks code units, so an astral
    character counts as its two surrogates. `(hash << 5) - hash + char`
    followed by `hash & hash` is arithmetic modulo 2**32 read back as a signed
    32-bit integer; `Math.abs(-2**31)` is 2**31 (a double, not a wrap).
    """
    h = 0
    data = s.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        h = (h * 31 + (data[i] | (data[i + 1] << 8))) & 0xFFFFFFFF
    return 0x100000000 - h if h >= 0x80000000 else h


def bucket(user_id: str | None, *, name: str | None = None, bucketing: str = "seed") -> int:
    """The percentage bucket (0..99) a user falls in.

    "seed": `simpleHash(userId || 'anonymous') % 100`, as the seed does: every
    flag at 10% serves the same 10% of users. "flag-salted" (opt-in per flag):
    `simpleHash(name + ":" + (userId || 'anonymous')) % 100`, so flags roll out
    to independent cohorts; without a name it falls back to "seed".
    """
    uid = user_id or "anonymous"
    if bucketing == "flag-salted" and name is not None:
        return seed_hash(f"{name}:{uid}") % 100
    return seed_hash(uid) % 100


# ---------------------------------------------------------------- JS semantics


def _truthy(v: Any) -> bool:
    """JavaScript ToBoolean of a JSON value (None models both null and undefined)."""
    if v is None or v is False:
        return False
    if isinstance(v, bool):
        return True
    if isinstance(v, (int, float)):
        return v == v and v != 0  # NaN, 0 and -0 are falsy
    if isinstance(v, str):
        return v != ""
    return True  # arrays and objects, even empty ones


def _js_string(v: Any) -> str:
    """ToString for the values `includes` can meet as its argument (string or undefined)."""
    return "undefined" if v is None else str(v)


def _includes(container: Any, value: str | None, field: str) -> bool:
    """`container.includes(value)` for a truthy JSON value; raises where JS would throw."""
    if isinstance(container, list):
        # Array.prototype.includes uses SameValueZero: "1" is not 1, and JSON arrays
        # never hold undefined, so an undefined argument never matches (not even null).
        return value is not None and any(isinstance(x, str) and x == value for x in container)
    if isinstance(container, str):
        return _js_string(value) in container  # String.prototype.includes: substring
    raise FlagEvaluationError(f"config.{field}.includes is not a function")


_NUM = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_RADIX = ((re.compile(r"0[xX][0-9a-fA-F]+"), 16), (re.compile(r"0[oO][0-7]+"), 8), (re.compile(r"0[bB][01]+"), 2))
_WS = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def _string_to_number(s: str) -> float:
    s = s.strip(_WS)
    if s == "":
        return 0.0
    if _NUM.fullmatch(s):
        return float(s)
    if s in ("Infinity", "+Infinity"):
        return math.inf
    if s == "-Infinity":
        return -math.inf
    for pattern, base in _RADIX:
        if pattern.fullmatch(s):
            try:
                return float(int(s[2:], base))
            except OverflowError:
                return math.inf
    return math.nan


def _to_number(v: Any) -> float:
    """ToNumber(ToPrimitive(v)) for a JSON value, as `<` does with a non-number operand."""
    if v is None:
        return 0.0  # null (undefined never reaches here: it is falsy)
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v) if not isinstance(v, int) or abs(v) < 2**1023 else math.copysign(math.inf, v)
    if isinstance(v, str):
        return _string_to_number(v)
    if isinstance(v, list):  # Array -> join(",") -> number
        if not v:
            return 0.0
        if len(v) > 1:
            return math.nan  # the joined string holds a comma
        x = v[0]
        if x is None:
            return 0.0
        if isinstance(x, bool) or isinstance(x, dict):
            return math.nan
        return _to_number(x)
    return math.nan  # "[object Object]"


def _less_than(a: int, b: Any) -> bool:
    """`a < b` with a a small non-negative integer."""
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        return a < b
    n = _to_number(b)
    return n == n and a < n


# ---------------------------------------------------------------- evaluation


def evaluate(config: Any, user_id: str | None, environment: str | None, *, name: str | None = None) -> bool:
    """The seed's `evaluateFlag(config, {userId, environment})`, quirks included.

    Order: environments -> whitelist -> percentage (when truthy) -> enabled.
    `None` stands for JavaScript `undefined` (a missing query parameter). An
    empty `environments` list is truthy and so denies every environment; a
    percentage of 0 falls through to `enabled`; `""` as user id is bucketed as
    "anonymous". Where the seed's function would throw (say `environments` is
    a number) this raises `FlagEvaluationError`; the seed's service answers 500
    then, and its client fails closed (see `served`).
    """
    if config is None:
        raise FlagEvaluationError("Cannot read properties of null (reading 'environments')")
    if not isinstance(config, Mapping):
        return False  # a JSON primitive or array has none of the fields
    envs = config.get("environments")
    if _truthy(envs) and not _includes(envs, environment, "environments"):
        return False
    wl = config.get("userWhitelist")
    if _truthy(wl) and _includes(wl, user_id, "userWhitelist"):
        return True
    pct = config.get("percentage")
    if _truthy(pct):
        b = bucket(user_id, name=name, bucketing=config.get("bucketing") or "seed")
        return _less_than(b, pct)
    return _truthy(config.get("enabled"))


def served(config: Any, user_id: str | None, environment: str | None, *, name: str | None = None) -> bool:
    """What a seed client ends up with: `evaluate`, failing closed where the service errors."""
    try:
        return evaluate(config, user_id, environment, name=name)
    except FlagEvaluationError:
        return False


# ---------------------------------------------------------------- cohorts


def cohort_diff(
    before: Any, after: Any, user_ids: Iterable[str | None], environment: str | None, name: str | None = None
) -> tuple[int, int]:
    """(gain, lose): how many of `user_ids` a change turns on, and turns off."""
    gain = lose = 0
    for uid in user_ids:
        b = served(before, uid, environment, name=name)
        a = served(after, uid, environment, name=name)
        gain += a and not b
        lose += b and not a
    return gain, lose


def hash_numbered_ids(prefix: str, start: int, stop: int) -> Any:
    """numpy int64 array of `seed_hash(prefix + str(i))` for i in [start, stop), vectorised.

    Decimal ids share their prefix state; each digit then applies one
    `h*31 + c mod 2**32` step, in uint32 arithmetic (which wraps the same way).
    """
    import numpy as np

    if start < 0:
        raise ValueError("ids are numbered from 0 upwards.")
    state = 0
    data = prefix.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        state = (state * 31 + (data[i] | (data[i + 1] << 8))) & 0xFFFFFFFF
    h0 = np.uint32(state)
    out = np.empty(max(0, stop - start), dtype=np.int64)
    origin, digits = start, 1
    while start < stop:
        lo, hi = (0 if digits == 1 else 10 ** (digits - 1)), 10**digits
        a, b = max(start, lo), min(stop, hi)
        if a < b:
            ids = np.arange(a, b, dtype=np.int64)
            h = np.full(b - a, h0, dtype=np.uint32)
            for k in range(digits - 1, -1, -1):
                d = ((ids // 10**k) % 10 + 48).astype(np.uint32)
                h = h * np.uint32(31) + d
            signed = h.view(np.int32).astype(np.int64)
            out[a - origin : b - origin] = np.abs(signed)
            start = b
        digits += 1
    return out


def bucket_histogram(
    n_ids: int = 1_000_000, prefix: str = "user-", *, name: str | None = None, bucketing: str = "seed"
) -> list[int]:
    """How many of the ids `prefix+"0"` .. `prefix+str(n_ids-1)` fall in each bucket 0..99.

    With `bucketing="flag-salted"` and a name, the hashed string is
    `name + ":" + id`, as `bucket` does. The share a percentage P serves is
    `sum(hist[:ceil(P)]) / n_ids` (buckets b < P).
    """
    import numpy as np

    full = f"{name}:{prefix}" if bucketing == "flag-salted" and name is not None else prefix
    hashes = hash_numbered_ids(full, 0, n_ids)
    counts: list[int] = np.bincount(hashes % 100, minlength=100).tolist()
    return counts

"""JSON from outside, read without ever raising and written the way the seed writes it.

`loads` turns any bytes or text into a `Parsed`: either the value, or an error
phrase that says in a few words what is wrong ("nested deeper than 64 levels",
"number 1e400 is out of range", "not UTF-8 at byte 12", "duplicate key
'enabled'", "NaN is not JSON", "starts with a byte-order mark"). Nothing a
stored value holds can make it raise: the nesting depth is checked by a linear
scan *before* the parser runs (so no `RecursionError`), numbers a double cannot
hold are refused (Python would turn `1e400` into `inf` and 400 nines into a
huge int; node turns both into `Infinity`), and the `NaN`/`Infinity` literals
Python accepts are refused as JSON does.

Lone surrogate escapes (`"\\ud800"`) are valid: node's `JSON.parse` accepts
them, so the seed serves such flags. They are kept as they are in the value;
`app.sanitize.clean` shows them escaped, and `dumps` writes them back as the
same `\\udXXX` escapes `JSON.stringify` writes.

`splice_object` changes some top-level fields of a stored object and leaves
every other byte of it as it was, so a field Shiftroom does not touch is never
re-serialised. Pure code: no I/O.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

#: Deepest nesting of arrays/objects accepted (the seed's flags use 2).
MAX_DEPTH = 64
#: A literal longer than this is cut in error phrases.
_SHOWN = 24

_BOMS = ((b"\xef\xbb\xbf", "UTF-8"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)
_SURROGATE = re.compile("[\ud800-\udfff]")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_WS = " \t\n\r"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A JSON value, or why there is none (`error`, a short phrase without a final period)."""

    value: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


class _Refused(Exception):
    """Raised inside a parser hook; its text is the error phrase."""


def _shown(literal: str) -> str:
    return literal if len(literal) <= _SHOWN else literal[: _SHOWN - 1] + "…"


def _parse_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _Refused(f"number {_shown(literal)} is out of range")
    return value


def _parse_int(literal: str) -> int:
    # float() never raises on digits and overflows to inf exactly where a double would.
    if len(literal) > 15 and math.isinf(float(literal)):
        raise _Refused(f"number {_shown(literal)} is out of range")
    return int(literal)


def _parse_constant(literal: str) -> Any:
    raise _Refused(f"{literal} is not JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key '{_shown(key)}'")
            seen.add(key)
    return out


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_float=_parse_float, parse_int=_parse_int, parse_constant=_parse_constant
)


def depth_error(text: str, max_depth: int = MAX_DEPTH) -> str:
    """ "nested deeper than N levels" when brackets outside strings nest deeper; "" otherwise."""
    if text.count("[") + text.count("{") <= max_depth:
        return ""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return f"nested deeper than {max_depth} levels"
        elif token in "]}":
            depth = max(0, depth - 1)
    return ""


def decode(data: bytes | bytearray | memoryview | str) -> tuple[str, str]:
    """(text, error phrase): bytes as strict UTF-8, a byte-order mark refused."""
    if isinstance(data, str):
        if data.startswith("\ufeff"):
            return "", "starts with a byte-order mark (BOM)"
        return data, ""
    raw = bytes(data)
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return "", f"starts with a {name} byte-order mark (BOM)"
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        return "", f"not UTF-8 at byte {exc.start}"


def loads(data: bytes | bytearray | memoryview | str, *, max_depth: int = MAX_DEPTH) -> Parsed:
    """The JSON value in `data`, or a `Parsed` whose `error` says why not. Never raises."""
    text, error = decode(data)
    if error:
        return Parsed(error=error)
    error = depth_error(text, max_depth)
    if error:
        return Parsed(error=error)
    try:
        return Parsed(_DECODER.decode(text))
    except _Refused as exc:
        return Parsed(error=str(exc))
    except json.JSONDecodeError as exc:
        return Parsed(error=f"not valid JSON ({exc.msg.lower()} at line {exc.lineno} column {exc.colno})")
    except RecursionError:  # not reachable after the depth scan; kept so loads never raises
        return Parsed(error=f"nested deeper than {max_depth} levels")
    except (ValueError, TypeError, MemoryError) as exc:
        return Parsed(error=f"not valid JSON ({' '.join(str(exc).split())[:80] or type(exc).__name__})")


def loads_object(data: bytes | bytearray | memoryview | str, *, max_depth: int = MAX_DEPTH) -> Parsed:
    """Like `loads`, but a top level that is not an object is an error too."""
    parsed = loads(data, max_depth=max_depth)
    if parsed.ok and not isinstance(parsed.value, dict):
        return Parsed(error=f"the top level is {kind(parsed.value)}, not an object")
    return parsed


def kind(value: Any) -> str:
    """`a string`, `an array`, `null`... as a phrase for error sentences."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


# ---------------------------------------------------------------- writing


def js_number(x: float) -> str:
    """ECMAScript `Number::toString` of a finite double: what `JSON.stringify` writes."""
    if not math.isfinite(x):
        raise ValueError("NaN and infinities are not JSON")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    mantissa, _, exp_text = repr(abs(x)).partition("e")
    int_part, _, frac = mantissa.partition(".")
    digits = (int_part + frac.rstrip("0")).lstrip("0") or "0"
    # repr gives d.ddd or ddd.ddd; n is the position of the decimal point relative to `digits`.
    lead_zeros = len(int_part + frac) - len((int_part + frac).lstrip("0"))
    n = len(int_part) - lead_zeros + (int(exp_text) if exp_text else 0)
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = f"e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + (digits if k == 1 else digits[0] + "." + digits[1:]) + exp


def _js_string(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)
    if not _SURROGATE.search(text):
        return text
    # a high+low pair is one character to JavaScript (UTF-16); only lone halves are escaped
    text = _PAIR.sub(lambda m: chr(0x10000 + ((ord(m.group()[0]) - 0xD800) << 10) + ord(m.group()[1]) - 0xDC00), text)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _encode(value: Any, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"the value is nested deeper than {MAX_DEPTH} levels")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_js_string(value))
    elif isinstance(value, int):
        out.append(str(value) if abs(value) < 2**1023 else js_number(float(value)))
    elif isinstance(value, float):
        out.append(js_number(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise ValueError(f"an object key must be a string, not {kind(key)}")
            out.append(("," if i else "") + _js_string(key) + ":")
            _encode(item, out, depth + 1)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, depth + 1)
        out.append("]")
    else:
        raise ValueError(f"{kind(value)} is not a JSON value")


def dumps(value: Any, *, compact: bool = True) -> str:
    """The JSON text to store for `value`; raises ValueError (one phrase) for what JSON cannot hold.

    compact=True writes exactly what the seed's Node service writes
    (`JSON.stringify`: no spaces, non-ASCII kept, integral numbers without
    `.0`, lone surrogates as `\\udXXX` escapes); compact=False what its Python
    manager writes (`json.dumps` defaults). Key order is kept either way.
    """
    if not compact:
        try:
            return json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValueError(" ".join(str(exc).split()) or "the value is not JSON") from None
    out: list[str] = []
    _encode(value, out, 0)
    return "".join(out)


# ---------------------------------------------------------------- changing stored objects in place

#: Pass as a value to `splice_object` to remove that field.
REMOVE = object()


def _members(text: str) -> tuple[list[tuple[str, int, int, int]], int]:
    """Top-level members of the object in `text`: (key, member start, value start, value end); and `}`'s index."""
    i = len(text) - len(text.lstrip(_WS))
    if not text.startswith("{", i):
        raise ValueError("the stored value is not an object")
    i += 1
    members: list[tuple[str, int, int, int]] = []
    while True:
        while text[i] in _WS:
            i += 1
        if text[i] == "}":
            return members, i
        if members:
            if text[i] != ",":
                raise ValueError("the stored object is malformed")
            i += 1
            while text[i] in _WS:
                i += 1
        start = i
        key, i = scanstring(text, i + 1)
        while text[i] in _WS:
            i += 1
        i += 1  # ':'
        while text[i] in _WS:
            i += 1
        _, end = _DECODER.raw_decode(text, i)
        members.append((key, start, i, end))
        i = end


def splice_object(raw: bytes | str, changes: Mapping[str, Any], *, compact: bool = True) -> str:
    """`raw` (a valid stored JSON object) with the top-level fields in `changes` set, or removed (`REMOVE`).

    Every byte outside the changed members stays as stored: unknown fields,
    number spellings, escapes and spacing are kept. New fields are appended.
    Raises ValueError when `raw` is not a valid object.
    """
    parsed = loads_object(raw)
    if not parsed.ok:
        raise ValueError(parsed.error)
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    members, close = _members(text)
    if members:
        head, tail = text[: members[0][1]], text[members[-1][3] :]
    else:
        head, tail = text[:close], text[close:]
    default_gap = "," if compact else ", "
    colon = ":" if compact else ": "
    items: list[tuple[str, str]] = []  # (member text, the separator that followed it)
    for index, (key, start, vstart, vend) in enumerate(members):
        gap = text[vend : members[index + 1][1]] if index + 1 < len(members) else default_gap
        if key not in changes:
            items.append((text[start:vend], gap))
        elif changes[key] is not REMOVE:
            items.append((text[start:vstart] + dumps(changes[key], compact=compact), gap))
    seen = {m[0] for m in members}
    items += [
        (f"{_js_string(k)}{colon}{dumps(v, compact=compact)}", default_gap)
        for k, v in changes.items()
        if k not in seen and v is not REMOVE
    ]
    if not items:
        return head.rstrip(_WS) + tail.lstrip(_WS)
    body = "".join(item + gap for item, gap in items[:-1]) + items[-1][0]
    return head + body + tail

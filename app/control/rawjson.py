"""Byte-preserving edits of a stored JSON object: change some top-level fields, keep every other byte.

Values written by other programs hold things Shiftroom must not rewrite:
fields it does not know, key order, spacing, lone surrogate escapes
(`"\\ud800"`, which node's `JSON.parse` accepts), nesting deeper than any
parser here allows, bytes that are not UTF-8. So an edit never re-serialises
the whole value: `members` splits the top-level object into its members with
a flat scanner (no recursion, whatever the depth), `splice` replaces, removes
or appends only the members named, and every other byte stays where it was.
Text is decoded with `surrogateescape`, so `encode(decode(b)) == b` always.

`parse` is the one place a member's value is turned into Python (a value, or
one sentence saying why not); everything else here works on text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app import safejson

MAX_DEPTH = 64  # deeper values are kept as text, never parsed
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SPECIAL = re.compile(r'["{}\[\]]')
_SCALAR_END = re.compile(r"[,}\]\s]")
_WS = " \t\n\r"


@dataclass(frozen=True)
class Member:
    key: str
    start: int  # the key's opening quote
    value_start: int
    value_end: int  # exclusive


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _value_end(text: str, i: int) -> int:
    """End of the JSON value starting at `i` (-1 when it does not end), without recursion."""
    if i >= len(text):
        return -1
    if text[i] == '"':
        m = _STRING.match(text, i)
        return m.end() if m else -1
    if text[i] not in "{[":
        m = _SCALAR_END.search(text, i)
        end = m.start() if m else len(text)
        return end if end > i else -1
    depth = 0
    while i < len(text):
        m = _SPECIAL.search(text, i)
        if m is None:
            return -1
        ch, i = m.group(), m.start()
        if ch == '"':
            s = _STRING.match(text, i)
            if s is None:
                return -1
            i = s.end()
            continue
        depth += 1 if ch in "{[" else -1
        i += 1
        if depth == 0:
            return i
    return -1


def members(text: str) -> list[Member] | None:
    """The top-level members of the JSON object in `text`, in order; None when it is not one object."""
    i = _skip(text, 0)
    if i >= len(text) or text[i] != "{":
        return None
    out: list[Member] = []
    i = _skip(text, i + 1)
    if i < len(text) and text[i] == "}":
        return out if _skip(text, i + 1) == len(text) else None
    while True:
        m = _STRING.match(text, i)
        if m is None:
            return None
        key, _ = parse(m.group())
        j = _skip(text, m.end())
        if not isinstance(key, str) or j >= len(text) or text[j] != ":":
            return None
        vs = _skip(text, j + 1)
        ve = _value_end(text, vs)
        if ve < 0:
            return None
        out.append(Member(key, i, vs, ve))
        i = _skip(text, ve)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < len(text) and text[i] == "}":
            return out if _skip(text, i + 1) == len(text) else None
        return None


def depth(text: str) -> int:
    """How deeply `text` nests arrays and objects (strings skipped), counted without recursion."""
    deepest = level = 0
    i = 0
    while True:
        m = _SPECIAL.search(text, i)
        if m is None:
            return deepest
        if m.group() == '"':
            s = _STRING.match(text, m.start())
            if s is None:
                return deepest
            i = s.end()
            continue
        level += 1 if m.group() in "{[" else -1
        deepest = max(deepest, level)
        i = m.end()


def parse(text: str) -> tuple[Any, str]:
    """(value, "") or (None, why not in a few words). Never raises: the one JSON reader of this module."""
    parsed = safejson.loads(text, max_depth=MAX_DEPTH)
    return (parsed.value, "") if parsed.ok else (None, parsed.error)


def dump(value: Any) -> str:
    """`JSON.stringify(value)`: compact, non-ASCII kept, lone surrogates as `\\udXXX` escapes."""
    return safejson.dumps(value, compact=True)


def values(text: str, found: list[Member]) -> dict[str, tuple[Any, str, str]]:
    """key -> (parsed value, why it could not be parsed, raw text); the last of duplicate keys wins, as in JS."""
    out: dict[str, tuple[Any, str, str]] = {}
    for m in found:
        raw = text[m.value_start : m.value_end]
        value, problem = parse(raw)
        out[m.key] = (value, problem, raw)
    return out


def _rebuilt(text: str, found: list[Member], changes: Mapping[str, str | None]) -> str:
    """The object with the named members replaced or removed (no additions)."""
    last = {m.key: i for i, m in enumerate(found)}
    items: list[list[str]] = []
    for i, m in enumerate(found):
        sep = text[m.value_end : found[i + 1].start] if i + 1 < len(found) else text[m.value_end :]
        if m.key in changes and changes[m.key] is None:
            if i + 1 == len(found):  # the last one goes: the one before now ends the object
                _end_with(items, sep)
            continue
        new = changes.get(m.key) if last[m.key] == i else None
        kept = text[m.start : m.value_start] + new if new is not None else text[m.start : m.value_end]
        items.append([kept, sep])
    return text[: found[0].start] + "".join(a + b for a, b in items)


def _end_with(items: list[list[str]], sep: str) -> None:
    if items:
        items[-1][1] = sep
    else:
        items.append(["", sep])


def splice(text: str, found: list[Member], changes: Mapping[str, str | None]) -> str:
    """`text` with each named member's value replaced by the raw JSON given (None: removed), new ones appended.

    Every byte outside the changed members is kept. Of duplicate keys only the last is replaced (the one
    `JSON.parse` keeps, so the others change nothing); a removal removes them all.
    """
    if found:
        text = _rebuilt(text, found, changes)
    present = {m.key for m in found}
    added = [f"{dump(k)}:{v}" for k, v in changes.items() if k not in present and v is not None]
    if not added:
        return text
    close = text.rfind("}")
    head, tail = text[:close], text[close:]
    stripped = head.rstrip(_WS)
    sep = "" if stripped.endswith("{") else ","
    return stripped + sep + ",".join(added) + head[len(stripped) :] + tail

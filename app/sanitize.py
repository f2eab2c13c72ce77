"""One sanitizer for every string that came from outside before it reaches a terminal.

Markup escaping is not sanitizing: control characters (C0, C1, ESC/CSI/OSC, DEL)
and bidirectional overrides pass straight through Rich/Textual text and can
retitle the terminal, clear the screen or reorder what is shown. `clean()` shows
each of them visibly escaped instead (`\\x1b`, `\\u202e`), so nothing injected
acts on the terminal and nothing is silently dropped either.
"""

from __future__ import annotations

import re

#: Bidirectional embeddings/overrides/isolates (U+202A–U+202E, U+2066–U+2069) and marks.
_BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ufeff]")
_UNSAFE_KEEP_NL = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object, limit: int | None = None, *, multiline: bool = False) -> str:
    """`value` as text that is safe to show: every control or bidi character visibly escaped.

    Lone surrogates (which JSON allows) are shown escaped too. `limit` cuts the
    result to that many characters with an ellipsis; `multiline` keeps newlines.
    """
    text = value if isinstance(value, str) else str(value)
    if any("\ud800" <= c <= "\udfff" for c in text):
        text = "".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in text)
    text = (_UNSAFE_KEEP_NL if multiline else _UNSAFE).sub(_escape, text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def is_clean(text: str) -> bool:
    """True when `text` holds nothing `clean()` would escape."""
    return _UNSAFE.search(text) is None and not any("\ud800" <= c <= "\udfff" for c in text)

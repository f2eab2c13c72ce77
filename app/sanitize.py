"""One sanitizer for every string that came from outside before it reaches a terminal.

Markup escaping is not sanitizing: control characters (C0, C1, ESC/CSI/OSC, DEL)
and bidirectional overrides pass straight through Rich/Textual text and can
retitle the terminal, clear the screen or reorder what is shown. `clean()` shows
each of them visibly escaped instead (`\\x1b`, `\\u202e`), so nothing injected
acts on the terminal and nothing is silently dropped either.
"""

from __future__ import annotations

import re

#: Bidirectional embeddings/overrides/isolates (U+202A–U+202E, U+2066–U+2069) and marks (LRM, RLM, ALM).
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c"
#: Invisible characters that hide or disguise text: zero-width space, word joiner and invisible operators,
#: deprecated format controls, line/paragraph separators, BOM, interlinear annotations, soft hyphen, tags.
_INVISIBLE = "\u00ad\u180e\u200b\u2028\u2029\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f"
#: C0, DEL, C1, and lone UTF-16 surrogates (JSON allows them; a terminal shows garbage or worse).
_SURROGATES = "\ud800-\udfff"
_CONTROL = "\x00-\x1f\x7f-\x9f" + _SURROGATES
_CONTROL_BUT_NEWLINE = "\x00-\x09\x0b-\x1f\x7f-\x9f" + _SURROGATES
_UNSAFE = re.compile(f"[{_CONTROL}{_BIDI}{_INVISIBLE}]")
_UNSAFE_KEEP_NL = re.compile(f"[{_CONTROL_BUT_NEWLINE}{_BIDI}{_INVISIBLE}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(value: object, limit: int | None = None, *, multiline: bool = False) -> str:
    """`value` as text that is safe to show: every control or bidi character visibly escaped.

    Lone surrogates (which JSON allows) are shown escaped too. `limit` cuts the
    result to that many characters with an ellipsis; `multiline` keeps newlines.
    """
    text = value if isinstance(value, str) else _text(value)
    text = (_UNSAFE_KEEP_NL if multiline else _UNSAFE).sub(_escape, text)
    if limit is not None and len(text) > limit:
        cut = max(0, limit - 1)
        slash = text.rfind("\\", max(0, cut - 9), cut)
        escape = _ESCAPE.match(text, slash) if slash >= 0 else None
        if escape is not None and escape.end() > cut:
            cut = slash  # never leave half an escape behind
        text = text[:cut] + "…"
    return text


_ESCAPE = re.compile(r"\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[nrt])")


def _text(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    try:
        return str(value)
    except Exception as exc:  # a value whose __str__ fails is still shown, as what it is
        return f"<{type(value).__name__}: {type(exc).__name__}>"


def is_clean(text: str) -> bool:
    """True when `text` holds nothing `clean()` would escape."""
    return _UNSAFE.search(text) is None


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def clean_json(json_text: str) -> str:
    """JSON text safe to show *and still the same JSON*: unsafe characters inside strings as `\\uXXXX` escapes.

    For fields a user edits as JSON (the editor's `public`): what is shown parses
    back to exactly the stored value, and nothing in it acts on the terminal.
    """
    return _UNSAFE_KEEP_NL.sub(_json_escape, json_text)

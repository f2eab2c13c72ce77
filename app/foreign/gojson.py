"""JSON bytes as Go's `encoding/json.Marshal` writes them, for patches that must match a Go CLI's.

Compact separators, UTF-8 kept as it is, and Go's HTML-safe escapes of `<`, `>`, `&`
and of U+2028 / U+2029. Key order is the order of the given dict (`argo_template.go_template`
puts a pod template in the Go structs' order first).
"""

from __future__ import annotations

import json
from typing import Any

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_marshal(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _GO_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text.encode("utf-8")

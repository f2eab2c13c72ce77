"""JSON bytes as Go's `encoding/json.Marshal` writes them, for patches that must match a Go CLI's.

Compact separators, UTF-8 kept as it is, and Go's HTML-safe escapes of `<`, `>`, `&`
and of U+2028 / U+2029. Key order is the order of the given dict: for values that came
from the API server that is the Go struct order the server wrote them in.
"""

from __future__ import annotations

import json
from typing import Any

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}

#: `metav1.ObjectMeta` field order (k8s.io/apimachinery/pkg/apis/meta/v1/types.go).
OBJECT_META_ORDER = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)


def go_marshal(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _GO_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text.encode("utf-8")


def go_object_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """An ObjectMeta as Go marshals the struct: its field order, `creationTimestamp` always present
    (null when unset), empty maps and lists left out (they are `omitempty`)."""
    out: dict[str, Any] = {}
    for key in OBJECT_META_ORDER:
        if key == "creationTimestamp":
            out[key] = meta.get(key)
        elif key in meta and meta[key] not in (None, {}, [], "", 0):
            out[key] = meta[key]
    for key, value in meta.items():  # fields a newer API version added: kept, after the known ones
        if key not in out and key not in OBJECT_META_ORDER:
            out[key] = value
    return out

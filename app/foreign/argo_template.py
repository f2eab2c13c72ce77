"""A ReplicaSet's pod template the way `kubectl argo rollouts undo` handles it (pure).

The CLI reads the ReplicaSet with the typed client: its JSON is decoded into Go's
`corev1.PodTemplateSpec` (fields it does not know are dropped, absent fields become Go's
zero values) and written back by `json.Marshal` in the structs' field order, with
`omitempty` leaving out empty strings, zeros, false, nil pointers and empty lists and
maps, never a struct (hence `"resources":{}` and `"creationTimestamp":null`), and maps with
sorted keys. `go_value` does the same from the field table in `argo_podspec`;
`unstructured=True` follows `runtime.DefaultUnstructuredConverter.ToUnstructured` instead,
which keeps an empty but present list or map.

`derives(a, b)` is apimachinery's `Semantic.DeepDerivative` on JSON values: what is unset
in `a` (null, "", an empty list or map) is not compared, a list of `a` is compared with as
many items of `b`, and any other value must be the same type and value. The CLI's
`equalIgnoreHash` compares the Rollout's template (as the API server sent it) against the
ReplicaSet's (converted) with it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from app.foreign.argo_podspec import GO_STRUCTS

Field = tuple[str, str, bool]  # (JSON name, type, omitempty)
_SCALAR_ZERO: dict[str, Any] = {"s": "", "i": 0, "b": False, "f": 0, "q": "0", "x": 0, "t": None}


@cache
def struct_fields(struct: str) -> tuple[Field, ...]:
    """The fields of one Go struct in declaration order, embedded structs' fields in their place."""
    out: list[Field] = []
    for token in GO_STRUCTS[struct].split():
        if token.startswith("..."):
            out.extend(struct_fields(token[3:]))
            continue
        name, kind = token.split(":", 1)
        out.append((name.removesuffix("?"), kind, name.endswith("?")))
    return tuple(out)


def _empty(kind: str, value: Any, unstructured: bool) -> bool:
    """Whether `omitempty` leaves the (already converted) value out."""
    if kind[0] == "*":
        return value is None
    if kind[0] in "[{":
        return value is None or (not unstructured and len(value) == 0)
    if kind in ("s", "i", "b", "f"):
        return value is None or (value == _SCALAR_ZERO[kind] and type(value) is type(_SCALAR_ZERO[kind]))
    return False  # a struct (Quantity, IntOrString and Time are structs too): never left out


def go_value(kind: str, raw: Any, unstructured: bool = False) -> Any:
    """`raw` (a JSON value, None when absent or null) decoded into the Go type `kind` and written back."""
    if kind[0] == "*":
        return None if raw is None else go_value(kind[1:], raw, unstructured)
    if kind[0] == "[":
        if not isinstance(raw, list):
            return None if raw is None else raw
        return [go_value(kind[1:-1], item, unstructured) for item in raw]
    if kind[0] == "{":
        if not isinstance(raw, dict):
            return None if raw is None else raw
        return {key: go_value(kind[1:-1], raw[key], unstructured) for key in sorted(raw)}
    if kind in _SCALAR_ZERO:  # a value of another type (Go's decoder would refuse it) is kept as it is
        return _SCALAR_ZERO[kind] if raw is None else raw
    return _struct(kind, raw if isinstance(raw, dict) else {}, unstructured)


def _struct(struct: str, raw: dict[str, Any], unstructured: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind, omitempty in struct_fields(struct):
        value = go_value(kind, raw.get(name), unstructured)
        if omitempty and _empty(kind, value, unstructured):
            continue
        out[name] = value
    return out


def go_template(template: Any, unstructured: bool = False) -> dict[str, Any]:
    """A `corev1.PodTemplateSpec` as the CLI writes it (`unstructured`: as ToUnstructured converts it)."""
    value: dict[str, Any] = go_value("PodTemplateSpec", template, unstructured)
    return value


def derives(a: Any, b: Any) -> bool:
    """`Semantic.DeepDerivative(a, b)` on JSON values (see the module's docstring)."""
    if a is None:
        return True
    if b is None:
        return False
    if isinstance(a, dict):
        if not isinstance(b, dict):
            return False
        if not a:
            return True
        return len(a) <= len(b) and all(key in b and derives(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        if not isinstance(b, list):
            return False
        return not a or (len(a) <= len(b) and all(derives(x, y) for x, y in zip(a, b, strict=False)))
    if type(a) is not type(b):
        return False
    if isinstance(a, str) and a == "":
        return True
    return bool(a == b)

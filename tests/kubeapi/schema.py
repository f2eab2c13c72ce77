"""Custom resources checked against their CRD's openAPIV3Schema, as kube-apiserver does before storing one:
`required`, `oneOf` of required sets, `type` and `enum`, with its field paths and wording (422 Invalid).

Only that subset: CEL rules (`x-kubernetes-validations`), formats, patterns and bounds are not checked.
"""

from __future__ import annotations

import json
from typing import Any

TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "null"


def _type_ok(schema: dict[str, Any], value: Any) -> bool:
    want = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, int | str) and not isinstance(value, bool)
    if not want or want not in TYPES:
        return True
    if value is None:
        return bool(schema.get("nullable"))
    if want in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, TYPES[want])


def causes(schema: dict[str, Any], value: Any, path: str = "") -> list[tuple[str, str]]:
    """(field, text) pairs for everything `value` breaks of `schema` (empty: valid)."""
    if not _type_ok(schema, value):
        got = _json_type(value)
        return [(path, f'Invalid value: "{got}": {path} in body must be of type {schema.get("type")}: "{got}"')]
    out: list[tuple[str, str]] = []
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        out.append((path, f"Unsupported value: {json.dumps(value)}: supported values: {allowed}"))
    if isinstance(value, dict):
        out += _object_causes(schema, value, path)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += causes(schema["items"], item, f"{path}[{i}]")
    return out


def _object_causes(schema: dict[str, Any], value: dict[str, Any], path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    sub = f"{path}." if path else ""
    alternatives = [o for o in schema.get("oneOf") or [] if isinstance(o, dict) and o.get("required")]
    if alternatives and not any(all(k in value for k in o["required"]) for o in alternatives):
        out.append(
            ("<nil>", f'Invalid value: "": "{path}" must validate one and only one schema (oneOf). Found none valid')
        )
        out += [(f"{sub}{k}", "Required value") for k in alternatives[0]["required"] if k not in value]
    out += [(f"{sub}{k}", "Required value") for k in schema.get("required") or [] if k not in value]
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in props:
            out += causes(props[key], item, f"{sub}{key}")
        elif isinstance(extra, dict):
            out += causes(extra, item, f"{sub}{key}")
    return out


def resource_causes(schemas: dict[str, Any], obj: dict[str, Any]) -> list[tuple[str, str]]:
    """The causes of a whole custom resource (metadata is the API server's own to check)."""
    version = str(obj.get("apiVersion", "")).rpartition("/")[2]
    schema = schemas.get(version) or {}
    if not schema:
        return []
    body = {k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind")}
    props = {k: v for k, v in (schema.get("properties") or {}).items() if k not in ("metadata", "apiVersion", "kind")}
    trimmed = {**schema, "properties": props, "required": [r for r in schema.get("required") or [] if r in props]}
    return causes(trimmed, body)

"""Label selectors (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`) and field selectors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]


def _split(expr: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


_SET = re.compile(r"^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQ = re.compile(r"^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$")


def _requirement(req: str) -> Callable[[dict[str, str]], bool]:
    m = _SET.match(req)
    if m:
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: key not in labels or labels[key] not in values
    m = _EQ.match(req)
    if m:
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if req.startswith("!") and re.fullmatch(r"[^\s!=(),]+", req[1:]):
        return lambda labels: req[1:] not in labels
    if re.fullmatch(r"[^\s!=(),]+", req):
        return lambda labels: req in labels
    raise bad_request(f"unable to parse requirement: {req!r}")


def label_matcher(expr: str | None) -> Matcher:
    if not expr:
        return lambda obj: True
    reqs = [_requirement(r) for r in _split(expr)]
    return lambda obj: all(r(obj.get("metadata", {}).get("labels") or {}) for r in reqs)


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector object (matchLabels / matchExpressions) against labels; an empty selector matches all."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(op, False)
        if not ok:
            return False
    return True


def selector_string(selector: dict[str, Any] | None) -> str:
    """A LabelSelector object as the string form the scale subresource reports."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr["operator"]
        if op in ("In", "NotIn"):
            parts.append(f"{expr['key']} {op.lower()} ({','.join(sorted(expr.get('values') or []))})")
        else:
            parts.append(expr["key"] if op == "Exists" else "!" + expr["key"])
    return ",".join(parts)


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


def _field_test(path: str, value: str, negate: bool) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: (_field_value(obj, path) == value) != negate


CR_FIELDS = {"metadata.name", "metadata.namespace"}

_OBJECT_REF = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
#: The field labels an Event list or watch accepts, per API, and the field of the object (as that API shows it)
#: each selects. Core v1: the Field Selectors page's list for Event (kubernetes.io/docs/concepts/overview/
#: working-with-objects/field-selectors/); events.k8s.io/v1: the same fields under the names of that API
#: (kubernetes pkg/apis/events/v1/conversion.go, AddFieldLabelConversionsForEvent). `source` is the reporting
#: component (the deprecated source's, else reportingController). Any other label: 400 BadRequest
#: "field label not supported: <label>".
EVENT_FIELDS: dict[tuple[str, str], dict[str, str]] = {
    ("", "events"): {
        **{f"involvedObject.{f}": f"involvedObject.{f}" for f in _OBJECT_REF},
        "reason": "reason",
        "reportingComponent": "reportingComponent",
        "source": "source.component|reportingComponent",
        "type": "type",
        "metadata.name": "metadata.name",
        "metadata.namespace": "metadata.namespace",
    },
    ("events.k8s.io", "events"): {
        **{f"regarding.{f}": f"regarding.{f}" for f in _OBJECT_REF},
        "reason": "reason",
        "reportingController": "reportingController",
        "source": "deprecatedSource.component|reportingController",
        "type": "type",
        "metadata.name": "metadata.name",
        "metadata.namespace": "metadata.namespace",
    },
}


def _first_value(obj: dict[str, Any], paths: str) -> str:
    """The first non-empty of `a|b` (one path: its value)."""
    for path in paths.split("|"):
        if value := _field_value(obj, path):
            return value
    return ""


def _label_test(paths: str, value: str, negate: bool) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: (_first_value(obj, paths) == value) != negate


def field_matcher(expr: str | None, builtin: bool, resource: tuple[str, str] = ("", "")) -> Matcher:
    """`resource` is (group, plural): Events accept only their documented labels (EVENT_FIELDS); other
    built-ins any field path; custom resources `metadata.name` and `metadata.namespace`."""
    if not expr:
        return lambda obj: True
    labels = EVENT_FIELDS.get(resource)
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for req in _split(expr):
        m = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", req)
        if not m:
            raise bad_request(f"invalid selector: '{expr}'; can't understand '{req}'")
        path, op, value = m.groups()
        if (not builtin and path not in CR_FIELDS) or (labels is not None and path not in labels):
            raise bad_request(f"field label not supported: {path}")
        if labels is not None:
            tests.append(_label_test(labels[path], value, op == "!="))
            continue
        tests.append(_field_test(path, value, op == "!="))
    return lambda obj: all(t(obj) for t in tests)

"""Validation the API server does before storing, with its field paths and wording (422 Invalid)."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import bad_request, invalid
from .resources import ResourceType
from .schema import resource_causes

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_NAMES = {"services", "namespaces"}

LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")
#: MicroTime fields (RFC 3339 with exactly six fractional digits), by resource
MICRO_FIELDS = {
    ("coordination.k8s.io", "leases"): (("spec", "renewTime"), ("spec", "acquireTime")),
    ("events.k8s.io", "events"): (("eventTime",),),
}


def _quote(value: Any) -> str:
    if isinstance(value, dict | list):  # Go prints these as JSON
        return json.dumps(value, separators=(",", ":"))
    return f'"{value}"' if isinstance(value, str) else str(value)


def check_micro_times(t: ResourceType, obj: dict[str, Any]) -> None:
    """A MicroTime that does not parse is refused while decoding (400), before any validation."""
    for path in MICRO_FIELDS.get(t.key, ()):
        node: Any = obj
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None or (isinstance(node, str) and MICRO_TIME.match(node)):
            continue
        raise bad_request(
            f'{t.kind} in version "{t.versions[0]}" cannot be handled as a {t.kind}: parsing time "{node}" as '
            '"2006-01-02T15:04:05.000000Z07:00": cannot parse it as ".000000"'
        )


def _label_causes(labels: Any, path: str) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    if not isinstance(labels, dict):
        return causes
    for key, value in labels.items():
        name = key.rsplit("/", 1)[-1]
        if not QUALIFIED_NAME.match(name) or len(name) > 63:
            causes.append(
                (
                    path,
                    f"Invalid value: {_quote(key)}: name part must consist of alphanumeric characters, "
                    "'-', '_' or '.', and must start and end with an alphanumeric character",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            causes.append((path, f"Invalid value: {_quote(value)}: {LABEL_VALUE_MSG}"))
    return causes


def _generate_name_causes(t: ResourceType, prefix: Any) -> list[tuple[str, str]]:
    """A generateName is checked as a name whose trailing "-" is allowed (kube-apiserver masks it):
    `shop-` passes, `shop.` does not."""
    if not prefix or not isinstance(prefix, str):
        return []
    masked = prefix[:-1] + "a" if prefix.endswith("-") else prefix
    pattern, msg = (DNS1123_LABEL, LABEL_MSG) if t.plural in LABEL_NAMES else (DNS1123_SUBDOMAIN, SUBDOMAIN_MSG)
    if not pattern.match(masked):
        return [("metadata.generateName", f"Invalid value: {_quote(prefix)}: {msg}")]
    return []


def _name_causes(t: ResourceType, name: str) -> list[tuple[str, str]]:
    if not name:
        return [("metadata.name", "Required value: name or generateName is required")]
    if t.plural in LABEL_NAMES:
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            return [("metadata.name", f"Invalid value: {_quote(name)}: {LABEL_MSG}")]
    else:
        if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
            return [("metadata.name", f"Invalid value: {_quote(name)}: {SUBDOMAIN_MSG}")]
    return []


def _workload_causes(obj: dict[str, Any]) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    spec = obj.get("spec") or {}
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        causes.append(("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0"))
    selector = spec.get("selector")
    if not selector:
        causes.append(("spec.selector", "Required value"))
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    match = (selector or {}).get("matchLabels") or {}
    if selector and any(template_labels.get(k) != v for k, v in match.items()):
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {_quote(template_labels)}: `selector` does not match template `labels`",
            )
        )
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers")
    if not containers:
        causes.append(("spec.template.spec.containers", "Required value"))
    causes += _image_causes(containers, "spec.template.spec.containers")
    causes += _label_causes(template_labels, "spec.template.metadata.labels")
    return causes


def _image_causes(containers: Any, path: str) -> list[tuple[str, str]]:
    """Every container of a Pod or a pod template needs an image (the API reference calls the field
    optional for templates, but kube-apiserver refuses a Deployment whose container has none)."""
    return [
        (f"{path}[{i}].image", "Required value")
        for i, c in enumerate(containers if isinstance(containers, list) else [])
        if isinstance(c, dict) and not c.get("image")
    ]


def _event_causes(obj: dict[str, Any], namespace: str) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    regarding = obj.get("regarding") or {}
    if namespace and regarding.get("namespace", "") == "":
        causes.append(("involvedObject.namespace", 'Invalid value: "": does not match event.namespace'))
    for field in ("eventTime", "reportingController", "reportingInstance", "action", "reason"):
        if not obj.get(field):
            causes.append((field, "Required value"))
    if len(str(obj.get("note") or "").encode()) > 1024:  # bytes, as Go counts them
        causes.append(("message", 'Invalid value: "": can have at most 1024 characters'))
    if obj.get("type") not in ("Normal", "Warning"):
        causes.append(
            ("type", f'Unsupported value: {_quote(obj.get("type", ""))}: supported values: "Normal", "Warning"')
        )
    return causes


def validate(t: ResourceType, obj: dict[str, Any], extra: list[tuple[str, str]] | None = None) -> None:
    """422 Invalid with every cause found (plus `extra`, e.g. immutable fields an update changed)."""
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    check_micro_times(t, obj)
    causes = [*(extra or []), *_generate_name_causes(t, meta.get("generateName")), *_name_causes(t, name)]
    causes += _label_causes(meta.get("labels"), "metadata.labels")
    if t.key in {("apps", "deployments"), ("apps", "replicasets")}:
        causes += _workload_causes(obj)
    if t.key == ("", "pods"):
        causes += _image_causes((obj.get("spec") or {}).get("containers"), "spec.containers")
    if t.key == ("events.k8s.io", "events"):
        causes += _event_causes(obj, str(meta.get("namespace") or ""))
    if t.key == ("coordination.k8s.io", "leases"):
        duration = (obj.get("spec") or {}).get("leaseDurationSeconds")
        if isinstance(duration, int) and duration <= 0:
            causes.append(("spec.leaseDurationSeconds", f"Invalid value: {duration}: must be greater than 0"))
    if t.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        causes += _crd_causes(obj)
    if not t.builtin:
        causes += resource_causes(t.schemas, obj)
    if causes:  # events.k8s.io Events are validated as core Events: the message names kind Event, no group
        raise invalid(t.kind, "" if t.key == ("events.k8s.io", "events") else t.group, name, causes)


def _crd_causes(obj: dict[str, Any]) -> list[tuple[str, str]]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    expected = f"{names.get('plural', '')}.{spec.get('group', '')}"
    if obj["metadata"].get("name") != expected:
        return [
            (
                "metadata.name",
                f'Invalid value: "{obj["metadata"].get("name")}": must be spec.names.plural+"."+spec.group',
            )
        ]
    if not spec.get("versions"):
        return [("spec.versions", "Invalid value: null: must have exactly one version marked as storage version")]
    return []

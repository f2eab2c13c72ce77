"""Resources that are another API's view of the same stored objects.

`events.k8s.io/v1` Events and core `v1` Events are one resource in the API server: an Event written
through either API is read through both, with the field mapping of the events.k8s.io/v1 reference
(regarding ↔ involvedObject, note ↔ message, reportingController ↔ reportingComponent,
deprecatedSource/FirstTimestamp/LastTimestamp/Count ↔ source/firstTimestamp/lastTimestamp/count).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .resources import ResourceType

Key = tuple[str, str]
CORE_EVENTS: Key = ("", "events")
EVENTS_V1: Key = ("events.k8s.io", "events")

# events.k8s.io/v1 field → core v1 field
_EVENT_FIELDS = {
    "regarding": "involvedObject",
    "related": "related",
    "note": "message",
    "reason": "reason",
    "type": "type",
    "action": "action",
    "eventTime": "eventTime",
    "series": "series",
    "reportingController": "reportingComponent",
    "reportingInstance": "reportingInstance",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}


def _rename(obj: dict[str, Any], mapping: dict[str, str], api_version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": api_version, "kind": "Event", "metadata": copy.deepcopy(obj["metadata"])}
    for src, dst in mapping.items():
        if obj.get(src) is not None:
            out[dst] = copy.deepcopy(obj[src])
    return out


def event_v1_to_core(obj: dict[str, Any]) -> dict[str, Any]:
    return _rename(obj, _EVENT_FIELDS, "v1")


def core_to_event_v1(obj: dict[str, Any]) -> dict[str, Any]:
    return _rename(obj, {v: k for k, v in _EVENT_FIELDS.items()}, "events.k8s.io/v1")


STORAGE: dict[Key, Key] = {EVENTS_V1: CORE_EVENTS}
_TO_VIEW: dict[Key, Callable[[dict[str, Any]], dict[str, Any]]] = {EVENTS_V1: core_to_event_v1}
_TO_STORAGE: dict[Key, Callable[[dict[str, Any]], dict[str, Any]]] = {EVENTS_V1: event_v1_to_core}


def storage_key(t: ResourceType) -> Key:
    return STORAGE.get(t.key, t.key)


def to_view(t: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    fn = _TO_VIEW.get(t.key)
    return fn(obj) if fn else obj


def to_storage(t: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    fn = _TO_STORAGE.get(t.key)
    return fn(obj) if fn else obj

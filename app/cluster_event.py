"""`ClusterEvent`: one Kubernetes Event about one object, as `kubectl describe` lists it.

Pure data, shared by the backends (which read `events.k8s.io/v1` Events) and the
snapshot the room renders (each target's recent Events).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class ClusterEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    t: float  # last seen: series.lastObservedTime, else eventTime (deprecatedLastTimestamp, creation)
    namespace: str
    object: str  # the object it is about (`regarding`): "Kind/name"
    reason: str
    message: str  # `note`
    type: Literal["Normal", "Warning"] = "Normal"
    name: str = ""  # the Event's own name (metadata.name)
    group: str = ""  # the API group of the object it is about ("apps", "flagger.app"; "" is the core group)
    controller: str = ""  # reportingController (or deprecatedSource.component): kubectl's "From"
    count: int = 1  # series.count (or deprecatedCount): how often it was seen
    first: float = 0.0  # first seen (eventTime) when it was seen more than once
    resource_version: str = ""

    @property
    def regarding(self) -> tuple[str, str, str]:
        """(kind, namespace, name) of the object it is about."""
        kind, _, name = self.object.partition("/")
        return kind, self.namespace, name

"""Objects, the global resourceVersion counter and the retained event history that watches replay.

Every mutation happens on the server's event loop; the test thread reaches the store through
`KubeApiServer.call()`, so no lock is needed here.
"""

from __future__ import annotations

import builtins
import copy
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import expired

Key = tuple[str, str]  # (group, plural)


@dataclass
class Event:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: Key
    obj: dict[str, Any]
    old: dict[str, Any] | None


class Store:
    def __init__(self, window: int = 10_000) -> None:
        self.rv = 1
        self.window = window
        self.objects: dict[Key, dict[tuple[str, str], dict[str, Any]]] = {}
        self.history: deque[Event] = deque()
        self.compacted_rv = 0  # watches from a resourceVersion older than this get 410 Expired
        self.listeners: set[Callable[[Event], None]] = set()

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def get(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(key, {}).get((namespace, name))

    def list(self, key: Key, namespace: str | None = None) -> list[dict[str, Any]]:
        items = self.objects.get(key, {})
        return [items[k] for k in sorted(items) if namespace is None or k[0] == namespace]

    def put(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        """Store `obj` (ADDED or MODIFIED) under a new resourceVersion; returns the stored copy."""
        meta = obj["metadata"]
        ident = (meta.get("namespace", ""), meta["name"])
        bucket = self.objects.setdefault(key, {})
        old = bucket.get(ident)
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = self.next_rv()
        bucket[ident] = stored
        self._record(Event(self.rv, "MODIFIED" if old else "ADDED", key, stored, old))
        return copy.deepcopy(stored)

    def remove(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        old = self.objects.get(key, {}).pop((namespace, name), None)
        if old is None:
            return None
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = self.next_rv()
        self._record(Event(self.rv, "DELETED", key, gone, old))
        return copy.deepcopy(gone)

    def drop_type(self, key: Key) -> None:
        for obj in list(self.objects.get(key, {}).values()):
            self.remove(key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        self.objects.pop(key, None)

    def _record(self, event: Event) -> None:
        self.history.append(event)
        while len(self.history) > self.window:
            self.compacted_rv = self.history.popleft().rv
        for listener in list(self.listeners):
            listener(event)

    def compact(self) -> None:
        """Forget the history: a watch from any resourceVersion before now gets 410 Expired."""
        self.history.clear()
        self.compacted_rv = self.rv

    def events_after(self, rv: int) -> builtins.list[Event]:
        if rv < self.compacted_rv:
            raise expired(f"too old resource version: {rv} ({self.compacted_rv + 1})")
        return [e for e in self.history if e.rv > rv]

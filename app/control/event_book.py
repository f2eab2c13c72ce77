"""The cluster's recent Events about the targets' objects, kept bounded.

The object cache hands every Event its watches deliver to one `EventBook`. It keeps
the Events about the objects in `focus` (what the targets are made of: set at every
publish), at most `per_object` (the newest) per object and none older than `max_age`;
Events about other objects wait in a pool of the newest `loose`, so a target that
appears after its Events were listed (a Canary created later) still finds them.
A ReplicaSet's Events count for the Deployment or Rollout that names it (`<owner>-<hash>`).
Where this identity may not list or watch Events (a namespace, or None: every namespace, `-A`) the book
holds none and says so (`unseen`), so the room never shows "no Events" where it cannot look.
"""

from __future__ import annotations

from collections.abc import Iterable

from backends.base import ClusterEvent

Regarding = tuple[str, str, str]  # (kind, namespace, name) of the object an Event is about
EventKey = tuple[str, str]  # (namespace, name) of the Event itself
PER_OBJECT = 20
PER_TARGET = 20
MAX_AGE = 3600.0  # the API server's default event TTL: one hour
LOOSE = 200


def anchors(event: ClusterEvent) -> tuple[Regarding, ...]:
    """The objects an Event counts for: its own, and for a ReplicaSet the Deployment or Rollout it belongs to."""
    kind, ns, name = event.regarding
    if kind != "ReplicaSet" or "-" not in name:
        return ((kind, ns, name),)
    owner = name.rsplit("-", 1)[0]
    return (kind, ns, name), ("Deployment", ns, owner), ("Rollout", ns, owner)


class EventBook:
    def __init__(
        self, per_object: int = PER_OBJECT, max_age: float = MAX_AGE, loose: int = LOOSE, per_target: int = PER_TARGET
    ) -> None:
        self.per_object, self.max_age, self.loose, self.per_target = per_object, max_age, loose, per_target
        self._kept: dict[EventKey, tuple[Regarding, ClusterEvent]] = {}
        self._loose: dict[EventKey, ClusterEvent] = {}
        self._focus: frozenset[Regarding] = frozenset()
        self._denied: set[str | None] = set()  # namespaces (None: all of them) whose Events may not be read

    def __len__(self) -> int:
        return len(self._kept) + len(self._loose)

    # ------------------------------------------------------------ the watch's events
    def take(self, type_: str, event: ClusterEvent, now: float) -> bool:
        """An ADDED, MODIFIED or DELETED Event; True when what is kept changed."""
        key = (event.namespace, event.name)
        if type_ == "DELETED":
            return self.drop(key)
        if event.t and event.t < now - self.max_age:
            return self.drop(key)  # older than anything shown (a list replays the last hour)
        anchor = self._anchor(event)
        old = self._kept.get(key)
        if old is not None and old[1] == event:
            return False
        self._kept.pop(key, None)
        self._loose.pop(key, None)
        if anchor is None:
            self._loose[key] = event
            self._trim_loose()
            return False
        self._kept[key] = (anchor, event)
        self._trim(anchor)
        return key in self._kept or old is not None

    def drop(self, key: EventKey) -> bool:
        self._loose.pop(key, None)
        return self._kept.pop(key, None) is not None

    def keep_listed(self, namespace: str | None, listed: set[EventKey]) -> None:
        """A (re)list of `namespace` (None: every namespace) completed: forget its Events it did not name."""
        for pool in (self._kept, self._loose):
            for key in [k for k in pool if (namespace is None or k[0] == namespace) and k not in listed]:
                del pool[key]

    def deny(self, namespace: str | None) -> bool:
        """This identity may not list or watch Events in `namespace` (None: every namespace); True if new."""
        if namespace in self._denied:
            return False
        self._denied.add(namespace)
        self.keep_listed(namespace, set())  # what was held there can no longer be kept up to date
        return True

    def allow(self, namespace: str | None) -> bool:
        """Events in `namespace` were listed again; True if they had been denied."""
        if namespace not in self._denied:
            return False
        self._denied.discard(namespace)
        return True

    def unseen(self, namespace: str) -> str:
        """Where the Events of an object in `namespace` may not be read ("shop", "all namespaces"), or ""."""
        if namespace in self._denied:
            return namespace
        return "all namespaces" if None in self._denied else ""

    # ------------------------------------------------------------ focus and bounds
    def focus(self, objects: Iterable[Regarding], now: float) -> None:
        """What the targets are made of now: Events about other objects move to the pool, the pool's
        Events about these objects are kept; anything older than `max_age` goes."""
        focus = frozenset(objects)
        if focus != self._focus:
            self._focus = focus
            moved = {k: e for k, (_, e) in self._kept.items()} | self._loose
            self._kept.clear()
            self._loose.clear()
            for key, event in sorted(moved.items(), key=lambda kv: kv[1].t):
                anchor = self._anchor(event)
                if anchor is None:
                    self._loose[key] = event
                else:
                    self._kept[key] = (anchor, event)
                    self._trim(anchor)
            self._trim_loose()
        cutoff = now - self.max_age
        for key in [k for k, (_, e) in self._kept.items() if e.t and e.t < cutoff]:
            del self._kept[key]
        for key in [k for k, e in self._loose.items() if e.t and e.t < cutoff]:
            del self._loose[key]

    def _anchor(self, event: ClusterEvent) -> Regarding | None:
        return next((a for a in anchors(event) if a in self._focus), None)

    def _trim(self, anchor: Regarding) -> None:
        mine = sorted((e.t, k) for k, (a, e) in self._kept.items() if a == anchor)
        for _, key in mine[: max(0, len(mine) - self.per_object)]:
            del self._kept[key]

    def _trim_loose(self) -> None:
        if len(self._loose) > self.loose:
            oldest = sorted(self._loose, key=lambda k: self._loose[k].t)[: len(self._loose) - self.loose]
            for key in oldest:
                del self._loose[key]

    # ------------------------------------------------------------ reads
    def recent(self, objects: Iterable[Regarding], now: float) -> tuple[ClusterEvent, ...]:
        """The newest `per_target` Events about `objects`, newest first, none older than `max_age`."""
        wanted = set(objects)
        cutoff = now - self.max_age
        mine = [e for a, e in self._kept.values() if a in wanted and not (e.t and e.t < cutoff)]
        mine.sort(key=lambda e: (e.t, e.name), reverse=True)
        return tuple(mine[: self.per_target])

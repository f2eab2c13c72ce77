"""The object cache: what the controllers read, fed by `Cluster.watch`, never by polling.

One watch per namespace in view (or, with `all_namespaces`, one watch of every
namespace: `Cluster.watch(None)`), with informer semantics: `RESET` starts a
(re)list, an `ADDED` per object follows, `SYNCED` ends the list (objects the
list did not name are dropped then), and changes follow in resourceVersion
order. A broken stream (`Unavailable`) is reopened with backoff; meanwhile the
last good data stays, the cache knows since when it is stale, and its health
says so with the data's age. A write's returned object is applied at once, so
a pass never reads back what it just wrote; an older event arriving after a
newer write is ignored by comparing resource versions. Kubernetes Events
(`ClusterEvent`) are kept apart, bounded, in `events` (event_book.py); a `DENIED`
(the identity may not list or watch them) empties them for that stream and the
book says so until a list of that stream completes without one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from app.clock import Clock
from app.control.event_book import EventBook
from app.model import BackendHealth, HealthStatus
from backends.base import (
    BackendError,
    ClosableStream,
    Cluster,
    ClusterEvent,
    Deployment,
    ForeignObject,
    Kind,
    Lease,
    NotFound,
    Route,
    Service,
    Unavailable,
    WatchEvent,
)

Object = Deployment | Service | Route | Lease | ForeignObject
Key = tuple[str, str, str]  # (kind, namespace, name); a foreign object's kind is "<api group>/<kind>"
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)  # clock seconds before reopening a broken watch
ALL = "*"  # the stream of the one watch of every namespace (not a namespace name: names are DNS labels)


def _kind(obj: Object) -> str:
    """A Canary, a MetricTemplate and a ReplicaSet of the same name are three objects: foreign ones are
    keyed by API group and kind ("flagger.app/Canary", "apps/ReplicaSet")."""
    if isinstance(obj, ForeignObject):
        return f"{obj.api_version.rpartition('/')[0]}/{obj.kind}"
    return type(obj).__name__


def _newer(new: Object, old: Object | None) -> bool:
    """Resource versions are opaque strings; every backend we know makes them increasing integers.
    An equal version is the same object: what we hold may carry an annotation patch we just made."""
    if old is None:
        return True
    try:
        return int(new.resource_version) > int(old.resource_version)
    except ValueError:
        return True


def age_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


class ObjectCache:
    def __init__(
        self,
        cluster: Cluster,
        clock: Clock,
        namespaces: Iterable[str],
        *,
        on_change: Callable[[], None] = lambda: None,
        stale_after: float = 30.0,
        all_namespaces: bool = False,
    ) -> None:
        self.cluster = cluster
        self.clock = clock
        self.namespaces = tuple(sorted(set(namespaces)))
        self.all_namespaces = all_namespaces
        #: what is watched: each namespace on its own, or every namespace in one watch (`ALL`)
        self.streams = (ALL,) if all_namespaces else self.namespaces
        self.on_change = on_change
        self.stale_after = stale_after  # broken for longer than this: health DOWN instead of STALE
        self._objects: dict[Key, Object] = {}
        self._listing: dict[str, set[Key] | None] = {s: None for s in self.streams}
        self._synced: dict[str, bool] = {s: False for s in self.streams}
        self._broken_at: dict[str, float | None] = {s: None for s in self.streams}
        self._denying: dict[str, bool] = {s: False for s in self.streams}  # a DENIED since the stream's RESET
        self._error: BackendError | None = None
        self._unreachable: set[str] = set()  # streams whose watch could not even be opened again
        self._tasks: list[asyncio.Task[None]] = []
        self.kind = cluster.name
        self._up_since = clock.now()
        self.lists = 0  # how many (re)lists completed: tests and the bench read it
        self.events = EventBook()  # the Events the watches deliver: kept apart, bounded

    # ------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._watch(s)) for s in self.streams]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _stream(self, namespace: str) -> str:
        """The stream that delivers `namespace`'s objects."""
        return ALL if self.all_namespaces else namespace

    def _held(self, stream: str) -> bool:
        """Whether any object from `stream` is held."""
        return any(stream == ALL or k[1] == stream for k in self._objects)

    async def _watch(self, namespace: str) -> None:
        """Follow one namespace (or `ALL`) forever: reopen a broken (or ended) watch with backoff."""
        failures = 0
        while True:
            if await self._follow(namespace):
                failures = 0  # it was live: reopen at once, it may only have been a dropped stream
                await self.clock.sleep(0)
                continue
            await self.clock.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
            failures += 1

    async def _follow(self, namespace: str) -> bool:
        """One watch, until it breaks; True when it got as far as a complete list."""
        stream = self.cluster.watch(None if namespace == ALL else namespace)
        listed = connected = False
        try:
            async for event in stream:
                connected = True
                self._on_event(namespace, event)
                listed = listed or event.type == "SYNCED"
        except BackendError as err:
            self._broken(namespace, err, connected)
        finally:
            if isinstance(stream, ClosableStream):
                await stream.aclose()
        return listed

    # ------------------------------------------------------------ events
    def _on_event(self, namespace: str, event: WatchEvent) -> None:
        if event.type == "RESET":
            self._listing[namespace] = set()
            self._denying[namespace] = False
            return
        if event.type == "SYNCED":
            self._synced_list(namespace)
            return
        if event.type == "DENIED":
            self._denying[namespace] = True
            if self.events.deny(None if namespace == ALL else namespace):
                self.on_change()
            return
        obj = event.object
        if obj is None:
            return
        key = ("Event" if isinstance(obj, ClusterEvent) else _kind(obj), obj.namespace, obj.name)
        listing = self._listing.get(namespace)
        if listing is not None:
            listing.add(key)
        if isinstance(obj, ClusterEvent):
            if self.events.take(event.type, obj, self.clock.now()):
                self.on_change()
            return
        if event.type == "DELETED":
            if self._objects.pop(key, None) is not None:
                self.on_change()
            return
        self.apply(obj)

    def _synced_list(self, namespace: str) -> None:
        seen = self._listing.get(namespace) or set()
        for key in [k for k in self._objects if (namespace == ALL or k[1] == namespace) and k not in seen]:
            del self._objects[key]
        listed_events = {(k[1], k[2]) for k in seen if k[0] == "Event"}
        self.events.keep_listed(None if namespace == ALL else namespace, listed_events)
        if not self._denying.get(namespace):
            self.events.allow(None if namespace == ALL else namespace)
        self._listing[namespace] = None
        self._synced[namespace] = True
        self._broken_at[namespace] = None
        self._unreachable.discard(namespace)
        if all(self._synced.values()) and self._error is not None:
            self._error = None
            self._up_since = self.clock.now()
        self.lists += 1
        self.on_change()

    def _broken(self, namespace: str, err: BackendError, connected: bool = True) -> None:
        self._error = err
        if not connected:  # the API itself did not answer: not a dropped stream
            self._unreachable.add(namespace)
        if self._synced.get(namespace) or self._broken_at.get(namespace) is None:
            self._broken_at[namespace] = self.clock.now()
        self._synced[namespace] = False
        self._listing[namespace] = None
        self.on_change()

    # ------------------------------------------------------------ writes land here
    def apply(self, obj: Object) -> None:
        """A write's returned object, or a watch event: kept unless an even newer one is held."""
        key = (_kind(obj), obj.namespace, obj.name)
        old = self._objects.get(key)
        if old != obj and _newer(obj, old):
            self._objects[key] = obj
            self.on_change()

    def annotate(self, kind: Kind, namespace: str, name: str, annotations: Mapping[str, str | None]) -> None:
        """Apply an annotation patch the cluster accepted (it returns no object); the watch event follows."""
        key = (kind, namespace, name)
        old = self._objects.get(key)
        if old is None or isinstance(old, (Lease, ForeignObject)):
            return
        new = dict(old.annotations)
        for k, v in annotations.items():
            if v is None:
                new.pop(k, None)
            else:
                new[k] = v
        self._objects[key] = old.model_copy(update={"annotations": new})

    # ------------------------------------------------------------ reads (never the network)
    def synced(self, namespace: str) -> bool:
        return self._synced.get(self._stream(namespace), False)

    def ever_synced(self, namespace: str) -> bool:
        s = self._stream(namespace)
        return self._synced.get(s, False) or self._broken_at.get(s) is not None and self._held(s)

    def age(self, namespace: str, now: float) -> float:
        """0 while the watch is live; seconds since it broke while showing the last good data."""
        s = self._stream(namespace)
        if self._synced.get(s):
            return 0.0
        broken = self._broken_at.get(s)
        return float("inf") if broken is None else max(0.0, now - broken)

    def get(self, kind: str, namespace: str, name: str) -> Object | None:
        return self._objects.get((kind, namespace, name))

    def _need(self, kind: str, namespace: str, name: str) -> Object:
        obj = self._objects.get((kind, namespace, name))
        if obj is not None:
            return obj
        if not self.ever_synced(namespace):
            raise Unavailable(self.kind, f"The cluster watch of namespace {namespace} has not listed it yet.")
        raise NotFound(self.kind, f"{kind} {namespace}/{name} does not exist in the cluster.")

    def deployment(self, namespace: str, name: str) -> Deployment:
        obj = self._need("Deployment", namespace, name)
        assert isinstance(obj, Deployment)
        return obj

    def service(self, namespace: str, name: str) -> Service:
        obj = self._need("Service", namespace, name)
        assert isinstance(obj, Service)
        return obj

    def route(self, namespace: str, name: str) -> Route:
        obj = self._need("Route", namespace, name)
        assert isinstance(obj, Route)
        return obj

    def foreign_objects(self) -> list[ForeignObject]:
        """Every Flagger / Argo Rollouts object (and ReplicaSet) the watches delivered, in no particular order."""
        return [o for o in self._objects.values() if isinstance(o, ForeignObject)]

    def deployments(self) -> list[Deployment]:
        return [o for o in self._objects.values() if isinstance(o, Deployment)]

    def lease(self, namespace: str, name: str) -> Lease | None:
        obj = self._objects.get(("Lease", namespace, name))
        return obj if isinstance(obj, Lease) else None

    def annotations(self, kind: Kind, namespace: str, name: str) -> dict[str, str]:
        obj = self._need(kind, namespace, name)
        assert not isinstance(obj, (Lease, ForeignObject))
        return dict(obj.annotations)

    # ------------------------------------------------------------ health
    def health(self, now: float) -> BackendHealth:
        """UP while every watch is live; STALE (the last good data, with its age) while a dropped stream
        is being reopened; DOWN with the reason (and the age of the data still shown) once the API does
        not answer, or the data is older than `stale_after`."""
        broken = [s for s in self.streams if not self._synced[s] and self._broken_at[s] is not None]
        if not broken or self._error is None:
            return BackendHealth(name="cluster", kind=self.kind, since=self._up_since)
        since = min(b for s in broken if (b := self._broken_at[s]) is not None)
        age = max(0.0, now - since)
        has_data = any(self._held(s) for s in broken)
        away = any(s in self._unreachable for s in broken)
        status = HealthStatus.STALE if has_data and not away and age <= self.stale_after else HealthStatus.DOWN
        what = f"showing the data from {age_text(age)} ago" if has_data else "no data yet"
        return BackendHealth(
            name="cluster",
            kind=self.kind,
            status=status,
            since=since,
            reason=f"{self._error.sentence} (watch broken; {what})",
        )

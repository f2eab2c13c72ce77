"""WATCH: newline-delimited JSON events over a chunked response, as api-concepts describes them.

- From a resourceVersion: replay the retained events after it; older than the retained window → one
  `ERROR` event carrying a 410 `Status` (reason Expired) and the stream ends.
- Without a resourceVersion (or "0", or `sendInitialEvents=true`): synthetic `ADDED` for every object,
  then changes; with `sendInitialEvents` a BOOKMARK annotated `k8s.io/initial-events-end: "true"` follows.
- `allowWatchBookmarks=true`: periodic BOOKMARK events carrying only `metadata.resourceVersion`.
- The server closes the stream at `timeoutSeconds`.
- Label selectors on a watch: an object that stops matching is sent as DELETED, one that starts as ADDED.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError, reasonless
from .resources import ResourceType
from .selectors import Matcher
from .store import Event
from .views import storage_key, to_view

if TYPE_CHECKING:
    from .state import ServerState


def truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "t", "yes")


def _line(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _visible(obj: dict[str, Any] | None, namespace: str | None, match: Matcher) -> bool:
    if obj is None:
        return False
    if namespace is not None and obj["metadata"].get("namespace", "") != namespace:
        return False
    return match(obj)


def translate(event: Event, namespace: str | None, match: Matcher) -> tuple[str, dict[str, Any]] | None:
    """The event this watcher sees, given its namespace and selectors (None: not visible)."""
    now = _visible(event.obj, namespace, match)
    before = _visible(event.old, namespace, match) if event.type != "ADDED" else False
    if event.type == "DELETED":
        return ("DELETED", event.obj) if before else None
    if now and before:
        return ("MODIFIED", event.obj)
    if now:
        return ("ADDED", event.obj)
    if before:
        return ("DELETED", event.obj)
    return None


class Watcher:
    def __init__(
        self,
        state: ServerState,
        t: ResourceType,
        version: str,
        namespace: str | None,
        match: Matcher,
        query: dict[str, str],
    ) -> None:
        self.state = state
        self.t = t
        self.version = version
        self.namespace = namespace
        self.match = match
        self.query = query
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()  # None: the server is stopping

    def _listener(self, event: Event) -> None:
        if event.key == storage_key(self.t):
            self.queue.put_nowait(event)

    def _viewed(self, event: Event) -> Event:
        if storage_key(self.t) == self.t.key:
            return event
        old = None if event.old is None else to_view(self.t, event.old)
        return Event(event.rv, event.type, self.t.key, to_view(self.t, event.obj), old)

    def _out(self, obj: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        out["apiVersion"] = self.t.api_version(self.version)
        return out

    def _bookmark(self, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(self.state.store.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return _line(
            "BOOKMARK", {"kind": self.t.kind, "apiVersion": self.t.api_version(self.version), "metadata": meta}
        )

    def initial(self) -> list[bytes]:
        """Register and compute what is sent first, synchronously (no change can slip in between)."""
        store = self.state.store
        rv = self.query.get("resourceVersion", "")
        send_initial = truthy(self.query.get("sendInitialEvents"))
        store.listeners.add(self._listener)
        lines: list[bytes] = []
        if rv in ("", "0") or send_initial:
            ns = self.namespace if self.t.namespaced else None
            for obj in self.state.ops.list_view(self.t, ns):
                if self.match(obj):
                    lines.append(_line("ADDED", self._out(obj)))
            if send_initial and truthy(self.query.get("allowWatchBookmarks")):
                lines.append(self._bookmark(initial_end=True))
            return lines
        try:
            start = int(rv)
        except ValueError:
            store.listeners.discard(self._listener)
            raise reasonless(
                f'resourceVersion: Invalid value: "{rv}": strconv.ParseUint: parsing "{rv}": invalid syntax'
            ) from None
        try:
            events = store.events_after(start)
        except ApiError as exc:
            store.listeners.discard(self._listener)
            return [_line("ERROR", exc.status())]
        for event in events:
            if event.key != storage_key(self.t):
                continue
            seen = translate(self._viewed(event), self.namespace if self.t.namespaced else None, self.match)
            if seen:
                lines.append(_line(seen[0], self._out(seen[1])))
        return lines

    async def serve(self, request: web.Request) -> web.StreamResponse:
        lines = self.initial()
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        self.state.open_streams[id(request)] = request
        self.state.watch_queues.add(self.queue)
        try:
            await response.prepare(request)  # stalled or not, a watch gets its headers; then nothing while stalled
            await self._pump(request, response, lines)
        except ConnectionResetError:
            pass  # the client went away: there is no one left to tell
        finally:
            self.state.store.listeners.discard(self._listener)
            self.state.open_streams.pop(id(request), None)
            self.state.watch_queues.discard(self.queue)
        return response

    async def _pump(self, request: web.Request, response: web.StreamResponse, lines: list[bytes]) -> None:
        if lines and lines[0].startswith(b'{"type":"ERROR"'):
            await response.write(lines[0])
            return
        timeout = self.query.get("timeoutSeconds")
        deadline = time.monotonic() + float(timeout) if timeout else None
        bookmarks = truthy(self.query.get("allowWatchBookmarks"))
        for line in lines:
            await self._wait_unstalled()
            await response.write(line)
        next_bookmark = time.monotonic() + self.state.bookmark_interval
        while not self.state.closing:
            transport = request.transport
            if transport is None or transport.is_closing():
                return  # the client went away
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            wake = min(x for x in (deadline, next_bookmark if bookmarks else None, now + 1.0) if x is not None)
            try:
                event = await asyncio.wait_for(self.queue.get(), max(0.0, wake - now))
            except TimeoutError:
                event = None
            await self._wait_unstalled()
            if event is not None:
                seen = translate(self._viewed(event), self.namespace if self.t.namespaced else None, self.match)
                if seen:
                    await response.write(_line(seen[0], self._out(seen[1])))
            if bookmarks and time.monotonic() >= next_bookmark:
                await response.write(self._bookmark())
                next_bookmark = time.monotonic() + self.state.bookmark_interval

    async def _wait_unstalled(self) -> None:
        while self.state.stalled and not self.state.closing:
            await asyncio.sleep(0.02)

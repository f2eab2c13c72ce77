"""Informer-style watches: list once, then watch from the list's resourceVersion.

Per `backends.base.WatchEvent`: `RESET`, an `ADDED` per listed object, `SYNCED`,
then changes in resourceVersion order. Bookmarks (`allowWatchBookmarks`) move the
resume point without an event; a stream the server ends is resumed from the last
resourceVersion; `410 Gone` lists everything again (a new RESET…SYNCED); a
stream silent past the stall deadline, or an API server that cannot be reached,
ends the watch with `Unavailable` — the caller opens a new one, which waits an
exponentially growing delay first while failures go on. A source the room can do
without (Events) that answers 403 to its list or its watch is one `DENIED` event,
not a broken watch: it is asked again every `denied_retry` seconds (one request),
and once allowed everything is listed again (a RESET…SYNCED with no DENIED).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from backends.base import BackendError, ClusterEvent, Invalid, NotFound, Obj, Unavailable, WatchEvent, WatchKind
from backends.kubernetes.client import Api
from backends.kubernetes.errors import NAME, Forbidden, Gone, What, from_status
from backends.kubernetes.objects import _dict, invalid_marker
from backends.kubernetes.resources import Res

Convert = Callable[[dict[str, Any]], Obj | ClusterEvent | None]
_GONE = object()


@dataclass(frozen=True)
class Source:
    """One resource in one namespace (None = all) and how its objects become models."""

    res: Res
    namespace: str | None
    kind: WatchKind
    convert: Convert
    label_selector: str = ""
    field_selector: str = ""  # only documented field labels (Events: `regarding.kind=Deployment`)
    optional: bool = False  # a CRD that may not be installed: a 404 on the list skips it quietly
    spare: bool = False  # not needed to drive (Events): a 403 on its list or watch is DENIED, not a broken watch


@dataclass
class Backoff:
    """Delay before reconnecting: 0 while things work, then initial, doubling up to cap."""

    initial: float = 0.5
    cap: float = 30.0
    failures: int = 0

    @property
    def delay(self) -> float:
        return 0.0 if not self.failures else min(self.cap, self.initial * 2 ** (self.failures - 1))

    def fail(self) -> None:
        self.failures += 1

    def reset(self) -> None:
        self.failures = 0


@dataclass
class Informer:
    api: Api
    sources: list[Source]
    stall: float = 120.0  # no event or bookmark for this long: the stream is dead
    timeout_seconds: int = 300  # asked of the server per watch request
    backoff: Backoff = field(default_factory=Backoff)
    lists: int = 0  # full lists done (for tests: a 410 makes one more)
    denied_retry: float = 60.0  # a spare source refused (403): asked again this often, never in a loop

    async def events(self) -> AsyncGenerator[WatchEvent, None]:
        if self.backoff.delay:
            await asyncio.sleep(self.backoff.delay)
        while True:  # an Unavailable (from a list or a watch) counts a failure for the backoff and ends this
            listed: list[tuple[Source, str]] = []
            denied: list[Source] = []
            async for ev in self._relist(listed, denied):
                yield ev
            queue: asyncio.Queue[Any] = asyncio.Queue()
            tasks = [asyncio.create_task(self._watch(src, rv, queue)) for src, rv in listed]
            for src in denied:  # one retry per resource and namespace refused (its other sources were not asked)
                tasks.append(asyncio.create_task(self._guard(src, queue, self._retry(src, queue))))
            self.backoff.reset()  # listed: the API server is back
            try:
                yield WatchEvent(type="SYNCED")  # the watches are already open: nothing slips by
                async for event in self._drain(queue):
                    yield event
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            # _drain returned: a 410 Gone; list everything again

    async def _relist(self, listed: list[tuple[Source, str]], denied: list[Source]) -> AsyncIterator[WatchEvent]:
        """RESET, then an ADDED per listed object; `listed` gets each source's resourceVersion, `denied` the
        spare sources refused (one DENIED per resource and namespace: its other sources there are not asked)."""
        yield WatchEvent(type="RESET")
        for src in self.sources:
            if any((d.res, d.namespace) == (src.res, src.namespace) for d in denied):
                continue
            try:
                got = await self._list(src)
            except Forbidden:
                if not src.spare:
                    raise
                denied.append(src)
                yield WatchEvent(type="DENIED", kind=src.kind)
                continue
            if got is None:
                continue
            items, rv = got
            for ev in self._added(src, items):
                yield ev
            listed.append((src, rv))
        self.lists += 1

    def _added(self, src: Source, items: list[dict[str, Any]]) -> list[WatchEvent]:
        events = (self._event("ADDED", src, item) for item in items)
        return [ev for ev in events if ev is not None]

    async def _list(self, src: Source) -> tuple[list[dict[str, Any]], str] | None:
        query = _selectors(src)
        what = What("list", src.res, src.namespace)
        try:
            body = await self.api.call("GET", src.res.path(src.namespace), what, query=query)
        except NotFound:
            if src.optional:
                return None
            raise
        except Unavailable:
            self.backoff.fail()
            raise
        items = [i for i in body.get("items") or [] if isinstance(i, dict)]
        for i in items:  # list items carry no kind; the models' converters do not need it
            i.setdefault("apiVersion", src.res.api_version)
            i.setdefault("kind", src.res.kind)
        return items, str(_dict(body.get("metadata")).get("resourceVersion") or "")

    def _event(self, type_: str, src: Source, obj: dict[str, Any]) -> WatchEvent | None:
        try:
            model = src.convert(obj)
        except Invalid as err:
            return WatchEvent(type=type_, kind="Foreign", object=invalid_marker(obj, err, src.res.kind))
        if model is None:
            return None  # not an object of ours (a router object no target uses)
        return WatchEvent(type=type_, kind=src.kind, object=model)

    async def _drain(self, queue: asyncio.Queue[Any]) -> AsyncIterator[WatchEvent]:
        while True:
            item = await queue.get()
            if item is _GONE:
                return
            if isinstance(item, BaseException):
                if isinstance(item, Unavailable):
                    self.backoff.fail()
                raise item
            yield item

    async def _watch(self, src: Source, rv: str, queue: asyncio.Queue[Any]) -> None:
        await self._guard(src, queue, self._follow(src, rv, queue))

    async def _follow(self, src: Source, rv: str, queue: asyncio.Queue[Any]) -> None:
        try:
            while True:
                rv = await self._stream(src, rv, queue)
                if not rv:
                    queue.put_nowait(_GONE)
                    return
        except Forbidden:
            if not src.spare:
                raise
            queue.put_nowait(WatchEvent(type="DENIED", kind=src.kind))
            await self._retry(src, queue, watch_from=rv)

    async def _retry(self, src: Source, queue: asyncio.Queue[Any], watch_from: str = "") -> None:
        """Every `denied_retry` s, the request that was refused, once: a list of one item, or the watch (opened
        and closed). Allowed now: everything is listed again, so the Events come back with the others."""
        what = What("watch" if watch_from else "list", src.res, src.namespace)
        while True:
            await asyncio.sleep(self.denied_retry)
            try:
                if watch_from:
                    query = [("watch", "true"), ("resourceVersion", watch_from), *_selectors(src)]
                    resp = await self.api.stream(src.res.path(src.namespace), what, query, read_timeout=self.stall)
                    resp.release()
                else:
                    query = [*_selectors(src), ("limit", 1)]
                    await self.api.call("GET", src.res.path(src.namespace), what, query=query)
            except Forbidden:
                continue
            queue.put_nowait(_GONE)
            return

    async def _guard(self, src: Source, queue: asyncio.Queue[Any], work: Awaitable[None]) -> None:
        """Run one source's task; whatever ends it reaches the informer as an item of `queue`."""
        try:
            await work
        except Gone:
            queue.put_nowait(_GONE)
        except BackendError as err:
            queue.put_nowait(err if isinstance(err, Unavailable) else Unavailable(NAME, err.sentence))
        except Exception as err:  # a stream must end with a sentence, never silently
            queue.put_nowait(Unavailable(NAME, f"The watch of {src.res.plural} broke: {type(err).__name__}: {err}."))

    async def _stream(self, src: Source, rv: str, queue: asyncio.Queue[Any]) -> str:
        """One watch request; returns the resourceVersion to resume from ("" after 410 Gone)."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("resourceVersion", rv),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", self.timeout_seconds),
            *_selectors(src),
        ]
        what = What("watch", src.res, src.namespace)
        resp = await self.api.stream(src.res.path(src.namespace), what, query, read_timeout=self.stall)
        buf = b""
        try:
            while True:
                chunk = await self._read(resp, src)
                if not chunk:
                    return rv  # the server ended the watch (its timeout): resume from here
                buf, rv = self._lines(src, buf + chunk, rv, queue, what)
                if not rv:
                    return ""
        except TimeoutError:
            raise Unavailable(
                NAME, f"The watch of {src.res.plural} stalled for {self.stall:g} s; reconnecting."
            ) from None
        except OSError as exc:
            raise Unavailable(NAME, f"The watch of {src.res.plural} was cut off ({exc}); reconnecting.") from None
        finally:
            resp.release()

    async def _read(self, resp: Any, src: Source) -> bytes:
        try:  # asyncio.timeout, not wait_for: a cancel of the watch (the room stopping) must reach the read at once
            async with asyncio.timeout(self.stall):
                chunk: bytes = await resp.content.readany()
        except TimeoutError:
            raise Unavailable(
                NAME,
                f"The watch of {src.res.plural} sent nothing (not even a bookmark) for {self.stall:g} s; reconnecting.",
            ) from None
        return chunk

    def _lines(self, src: Source, buf: bytes, rv: str, queue: asyncio.Queue[Any], what: What) -> tuple[bytes, str]:
        """Every whole line in `buf` handled; returns the rest and the resume point ("" after 410 Gone)."""
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            rv = self._line(src, line, rv, queue, what)
            if not rv:
                return buf, ""
        return buf, rv

    def _line(self, src: Source, line: bytes, rv: str, queue: asyncio.Queue[Any], what: What) -> str:
        try:
            event = json.loads(line)
        except ValueError:
            raise Unavailable(
                NAME, f"The watch of {src.res.plural} sent a line that is not JSON; reconnecting."
            ) from None
        type_ = str(_dict(event).get("type") or "")
        obj = _dict(_dict(event).get("object"))
        new_rv = str(_dict(obj.get("metadata")).get("resourceVersion") or rv)
        if type_ == "BOOKMARK":
            return new_rv
        if type_ == "ERROR":
            code = int(obj.get("code") or 500)
            if code == 410:
                return ""
            raise from_status(code, json.dumps(obj), what, self.api.identity)
        if type_ in ("ADDED", "MODIFIED", "DELETED"):
            if obj.get("kind") not in (None, src.res.kind):
                return new_rv  # not of this resource (a server that replays every kind): not ours
            obj.setdefault("apiVersion", src.res.api_version)
            obj.setdefault("kind", src.res.kind)
            ev = self._event(type_, src, obj)
            if ev is not None:
                queue.put_nowait(ev)
        return new_rv


def _selectors(src: Source) -> list[tuple[str, Any]]:
    """The source's label and field selectors, as list and watch requests carry them."""
    out: list[tuple[str, Any]] = []
    if src.label_selector:
        out.append(("labelSelector", src.label_selector))
    if src.field_selector:
        out.append(("fieldSelector", src.field_selector))
    return out

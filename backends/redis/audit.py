"""`AuditLog` on a Redis stream, bounded: XADD with `MAXLEN ~`, read back with XREVRANGE.

Each entry holds the fields actor, t, target, action, reason, before (JSON),
after (JSON) and level (see `app.audit.event_fields`). Approximate trimming
keeps the stream near `maxlen` entries (Redis trims whole nodes, so it may
hold up to one node, 100 entries by default, more) at O(1) cost per append.

With a signing key (`audit.key_file`), every entry Shiftroom writes also
carries `prev` (the id of the entry before it) and `sig` (an HMAC over all
fields): the stream is WATCHed while its last id is read, so two writers
never chain to the same entry. Reading back marks each entry `verified`:
False for entries without a valid signature (written by any other client,
or altered) and for entries whose predecessor is missing.

`append_once` (for the local spool's replay) appends only if the entry's
delivery id is not in `<stream>:delivered` yet, in the same transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from app.audit import check_entry, event_fields, event_from_fields, sign_fields
from app.model import AuditEvent
from backends.base import Conflict, ReadOnly
from backends.redis.conn import Connection
from backends.redis.values import BACKEND, key_text

DEFAULT_STREAM = "shiftroom:audit"
ATTEMPTS = 8
# Spooled entries carry a delivery id; the ids delivered go to `<stream>:delivered` (a sorted set scored by the
# server's time), kept for 30 days: a spool replayed again after a crash re-delivers none of them.
DELIVERED_SUFFIX = ":delivered"
DELIVERED_KEEP = 30 * 86400.0
FOLLOW_BLOCK_MS = 5000  # one XREAD waits this long for new entries (under the connection's 10 s timeout)


@dataclass(frozen=True)
class Checked:
    """One stream entry as read back: its id, the event, and why it is not verified ("" when it is)."""

    entry_id: str
    event: AuditEvent
    problem: str = ""


class RedisAudit:
    """The audit stream; a `RedisStore` owns one on its own connection, so a write and its entry share a MULTI."""

    name = BACKEND

    def __init__(
        self,
        url: str = "",
        *,
        stream: str = DEFAULT_STREAM,
        maxlen: int = 10_000,
        read_only: bool = False,
        key: bytes | None = None,
        conn: Connection | None = None,
    ) -> None:
        if maxlen <= 0:
            raise ValueError("maxlen must be positive.")
        self.conn = conn or Connection(url, read_only=read_only)
        self.read_only = read_only or self.conn.read_only
        self.stream = stream
        self.maxlen = maxlen
        self.key = key
        self._followed = ""  # the last entry id `follow` has seen ("" until it first looks)

    @property
    def client(self) -> aioredis.Redis:
        return self.conn.client

    async def ping(self) -> None:
        await self.conn.ping()

    async def aclose(self) -> None:
        await self.conn.aclose()

    # ------------------------------------------------------------ writing

    async def fields_for(self, pipe: Pipeline, event: AuditEvent) -> dict[str, str]:
        """The entry's fields; with a key, signed and chained to the stream's last id.

        `pipe` must be in immediate (WATCH) mode; the stream is watched too, so an
        entry added by anyone before EXEC makes the transaction retry.
        """
        fields = event_fields(event)
        if self.key is None:
            return fields
        await pipe.watch(self.stream)
        last = await pipe.xrevrange(self.stream, count=1)
        prev = key_text(last[0][0] or b"") if last else ""
        return sign_fields(fields, prev, self.key)

    def queue(self, pipe: Pipeline, fields: Mapping[str, str]) -> None:
        entry: dict[Any, Any] = dict(fields)
        pipe.xadd(self.stream, entry, maxlen=self.maxlen, approximate=True)

    async def append(self, event: AuditEvent) -> None:
        if self.read_only:
            raise ReadOnly(BACKEND, "The audit log is read-only, so the event was not recorded.")

        async def body(pipe: Pipeline) -> None:
            fields = await self.fields_for(pipe, event)
            pipe.multi()  # type: ignore[no-untyped-call]
            self.queue(pipe, fields)
            await pipe.execute()

        exhausted = Conflict(
            BACKEND, "The audit stream kept changing while Shiftroom appended to it; it retries by itself."
        )
        await self.conn.transaction("recording an audit event", body, exhausted, ATTEMPTS)

    async def append_once(self, event: AuditEvent, uid: str) -> bool:
        """XADD unless `uid` is in the delivered-ids set; the set and the stream change in one MULTI, WATCHed."""
        if self.read_only:
            raise ReadOnly(BACKEND, "The audit log is read-only, so the event was not recorded.")
        delivered = self.stream + DELIVERED_SUFFIX

        async def body(pipe: Pipeline) -> bool:
            await pipe.watch(delivered)
            if await pipe.zscore(delivered, uid) is not None:
                await pipe.unwatch()  # type: ignore[no-untyped-call]
                return False
            fields = await self.fields_for(pipe, event)
            now = await pipe.time()
            seconds = float(now[0]) + float(now[1]) / 1e6
            pipe.multi()  # type: ignore[no-untyped-call]
            self.queue(pipe, fields)
            pipe.zadd(delivered, {uid: seconds})
            pipe.zremrangebyscore(delivered, "-inf", seconds - DELIVERED_KEEP)
            await pipe.execute()
            return True

        exhausted = Conflict(
            BACKEND, "The audit stream kept changing while Shiftroom appended to it; it retries by itself."
        )
        return await self.conn.transaction("recording an audit event", body, exhausted, ATTEMPTS)

    # ------------------------------------------------------------ reading

    async def follow(self) -> AsyncIterator[AuditEvent]:
        """Entries appended from now on, by anyone (XREAD BLOCK); called again after an error, it resumes after
        the last entry it yielded."""
        if not self._followed:
            self._followed = await self._last_id() or "0-0"  # from what is there now
        while True:
            async with self.conn.io("following the audit log"):
                got: Any = await self.client.xread({self.stream: self._followed}, block=FOLLOW_BLOCK_MS, count=100)
            for _stream, entries in got or []:
                for entry_id, data in entries:
                    self._followed = key_text(entry_id)
                    fields = {key_text(k): key_text(v) for k, v in data.items()}
                    ms = self._followed.split("-", 1)[0]
                    yield event_from_fields(fields, int(ms) / 1000 if ms.isdigit() else 0.0)

    async def _last_id(self) -> str:
        async with self.conn.io("following the audit log"):
            last: Any = await self.client.xrevrange(self.stream, count=1)
        return key_text(last[0][0]) if last else ""

    async def entries(self, limit: int = 200) -> list[Checked]:
        """The newest `limit` entries, oldest first, each checked when a key is set."""
        if limit <= 0:
            return []
        async with self.conn.io("reading the audit log"):
            raw: list[Any] = list(await self.client.xrevrange(self.stream, count=limit + 1) or [])
        raw.reverse()
        out: list[Checked] = []
        for i, (entry_id, data) in enumerate(raw):
            eid = key_text(entry_id)
            if len(raw) > limit and i == 0:
                continue  # only read to know the predecessor of the oldest entry shown
            fields = {key_text(k): key_text(v) for k, v in data.items()}
            ms = eid.split("-", 1)[0]
            event = event_from_fields(fields, int(ms) / 1000 if ms.isdigit() else 0.0)
            problem = ""
            if self.key is not None:
                previous = key_text(raw[i - 1][0]) if i > 0 else None
                problem = check_entry(fields, previous, self.key)
                event = event.model_copy(update={"verified": not problem})
            out.append(Checked(eid, event, problem))
        return out

    async def recent(self, limit: int = 200) -> list[AuditEvent]:
        """The newest `limit` events, oldest first."""
        return [c.event for c in await self.entries(limit)]


async def read_audit(
    url: str, limit: int = 200, *, stream: str = DEFAULT_STREAM, key: bytes | None = None
) -> list[Checked]:
    """The newest `limit` audit entries of the stream at `url`, oldest first (for `shiftroom audit`)."""
    audit = RedisAudit(url, stream=stream, read_only=True, key=key)
    try:
        return await audit.entries(limit)
    finally:
        await audit.aclose()

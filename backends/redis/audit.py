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

Exactly once (`append_once`, the `IdempotentAudit` capability): every entry the
room's trail delivers carries an id (`uid`, a random 128-bit hex string given
when the entry was recorded, kept in the local spool). The ids delivered are
kept in the sorted set `<stream>:delivered`, scored by the Redis server's time
in milliseconds. The set is WATCHed and the id looked up; the entry is XADDed
and its id added to the set in one MULTI, so either both happen or neither,
and an id already there writes nothing. A room killed after Redis took an entry
and before its spool noted it replays that entry harmlessly. Each append trims
ids older than `retention` (7 days by default) from the set, so it holds one
small member per entry of the last week; a spool replayed later than that after
such a crash may repeat the entries it delivered just before the crash.
"""

from __future__ import annotations

from collections.abc import Mapping
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
#: The field an entry's delivery id is stored in (signed with the others).
ENTRY_ID = "uid"
#: How long a delivered id is remembered (seconds): a replay within it never repeats an entry.
RETENTION = 7 * 24 * 3600.0


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
        retention: float = RETENTION,
    ) -> None:
        if maxlen <= 0:
            raise ValueError("maxlen must be positive.")
        if not retention > 0:
            raise ValueError("retention must be positive.")
        self.conn = conn or Connection(url, read_only=read_only)
        self.read_only = read_only or self.conn.read_only
        self.stream = stream
        self.maxlen = maxlen
        self.key = key
        self.retention = retention
        self.delivered = f"{stream}:delivered"  # sorted set: delivery id -> server time (ms) it was written

    @property
    def client(self) -> aioredis.Redis:
        return self.conn.client

    async def ping(self) -> None:
        await self.conn.ping()

    async def aclose(self) -> None:
        await self.conn.aclose()

    # ------------------------------------------------------------ writing

    async def fields_for(
        self, pipe: Pipeline, event: AuditEvent, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The entry's fields (and `extra`); with a key, signed and chained to the stream's last id.

        `pipe` must be in immediate (WATCH) mode; the stream is watched too, so an
        entry added by anyone before EXEC makes the transaction retry.
        """
        fields = {**event_fields(event), **(extra or {})}
        if self.key is None:
            return fields
        await pipe.watch(self.stream)
        last = await pipe.xrevrange(self.stream, count=1)
        prev = key_text(last[0][0] or b"") if last else ""
        return sign_fields(fields, prev, self.key)

    def queue(self, pipe: Pipeline, fields: Mapping[str, str]) -> None:
        entry: dict[Any, Any] = dict(fields)
        pipe.xadd(self.stream, entry, maxlen=self.maxlen, approximate=True)

    def _exhausted(self) -> Conflict:
        return Conflict(BACKEND, "The audit stream kept changing while Shiftroom appended to it; it retries by itself.")

    async def append(self, event: AuditEvent) -> None:
        if self.read_only:
            raise ReadOnly(BACKEND, "The audit log is read-only, so the event was not recorded.")

        async def body(pipe: Pipeline) -> None:
            fields = await self.fields_for(pipe, event)
            pipe.multi()  # type: ignore[no-untyped-call]
            self.queue(pipe, fields)
            await pipe.execute()

        await self.conn.transaction("recording an audit event", body, self._exhausted(), ATTEMPTS)

    async def append_once(self, event: AuditEvent, entry_id: str) -> bool:
        """XADD the entry and note `entry_id` as delivered, in one MULTI; nothing when it was delivered already."""
        if self.read_only:
            raise ReadOnly(BACKEND, "The audit log is read-only, so the event was not recorded.")

        async def body(pipe: Pipeline) -> bool:
            await pipe.watch(self.delivered)
            if await pipe.zscore(self.delivered, entry_id) is not None:
                return False  # delivered before (a replay after a crash): the stream has it once
            fields = await self.fields_for(pipe, event, {ENTRY_ID: entry_id})
            seconds, micros = await pipe.time()
            now_ms = int(seconds) * 1000 + int(micros) // 1000
            pipe.multi()  # type: ignore[no-untyped-call]
            self.queue(pipe, fields)
            pipe.zadd(self.delivered, {entry_id: now_ms})
            pipe.zremrangebyscore(self.delivered, "-inf", f"({now_ms - int(self.retention * 1000)}")
            await pipe.execute()
            return True

        return await self.conn.transaction("recording an audit event", body, self._exhausted(), ATTEMPTS)

    # ------------------------------------------------------------ reading

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

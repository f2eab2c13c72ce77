"""`AuditLog` on a Redis stream, bounded: XADD with `MAXLEN ~`, read back with XREVRANGE.

Each entry holds the fields actor, t, target, action, reason, before (JSON),
after (JSON) and level (see `app.audit.event_fields`). Approximate trimming
keeps the stream near `maxlen` entries (Redis trims whole nodes, so it may
hold up to one node, 100 entries by default, more) at O(1) cost per append.
"""

from __future__ import annotations

from app.audit import event_fields, event_from_fields
from app.model import AuditEvent
from backends.base import ReadOnly
from backends.redis_conn import BACKEND, RedisBase, key_text

DEFAULT_STREAM = "shiftroom:audit"


class RedisAudit(RedisBase):
    def __init__(self, url: str, *, stream: str = DEFAULT_STREAM, maxlen: int = 10_000, read_only: bool = False) -> None:
        if maxlen <= 0:
            raise ValueError("maxlen must be positive.")
        super().__init__(url, read_only=read_only)
        self.stream = stream
        self.maxlen = maxlen

    async def append(self, event: AuditEvent) -> None:
        if self.read_only:
            raise ReadOnly(BACKEND, "The audit log is read-only, so the event was not recorded.")
        async with self.io("recording an audit event"):
            await self.client.xadd(self.stream, event_fields(event), maxlen=self.maxlen, approximate=True)

    async def recent(self, limit: int = 200) -> list[AuditEvent]:
        """The newest `limit` events, oldest first."""
        if limit <= 0:
            return []
        async with self.io("reading the audit log"):
            entries = await self.client.xrevrange(self.stream, count=limit)
        out = []
        for entry_id, fields in reversed(entries):
            ms = key_text(entry_id).split("-", 1)[0]
            fallback = int(ms) / 1000 if ms.isdigit() else 0.0
            out.append(event_from_fields({key_text(k): key_text(v) for k, v in fields.items()}, fallback))
        return out


async def read_audit(url: str, limit: int = 200, *, stream: str = DEFAULT_STREAM) -> list[AuditEvent]:
    """The newest `limit` audit events of the stream at `url`, oldest first (for `shiftroom audit`)."""
    audit = RedisAudit(url, stream=stream, read_only=True)
    try:
        return await audit.recent(limit)
    finally:
        await audit.aclose()

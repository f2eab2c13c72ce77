"""The Redis backend: flags, experiments, counters, audit and change feed in the seed's layout.

`RedisStore` owns its parts (composition, no mixins): a `Connection`
(`conn`), the audit stream (`audit`, a `RedisAudit` on the same connection,
so a value and its audit entry share one MULTI), the `Tracker`, the
`Watcher` and the `Rebuilder`. Every reader lists keys through the one SCAN
helper in `scan`. `RedisAudit` alone is the `AuditLog` for a room whose store
is elsewhere.
"""

from __future__ import annotations

from backends.redis.audit import DEFAULT_STREAM, Checked, RedisAudit, read_audit
from backends.redis.conn import Connection, redact
from backends.redis.rebuild import RebuildReport
from backends.redis.store import RedisStore
from backends.redis.values import ABSENT
from backends.redis.watch import Change

__all__ = [
    "ABSENT",
    "DEFAULT_STREAM",
    "Change",
    "Checked",
    "Connection",
    "RebuildReport",
    "RedisAudit",
    "RedisStore",
    "read_audit",
    "redact",
]

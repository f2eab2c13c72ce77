"""The Redis backends: flags, experiments, tracking and audit in the seed's layout.

The code lives in `redis_conn` (connection, errors, versions), `redis_store`
(flags, experiments, kill switch), `redis_tracking` (assignments,
conversions, counters), `redis_watch` (live changes) and `redis_audit`
(the audit stream); this module is the one to import.
"""

from __future__ import annotations

from backends.redis_audit import DEFAULT_STREAM, RedisAudit, read_audit
from backends.redis_conn import ABSENT, redact
from backends.redis_store import KILL_FIELDS, RedisStore
from backends.redis_tracking import RebuildReport
from backends.redis_watch import Change

__all__ = [
    "ABSENT",
    "DEFAULT_STREAM",
    "KILL_FIELDS",
    "Change",
    "RebuildReport",
    "RedisAudit",
    "RedisStore",
    "read_audit",
    "redact",
]

"""The audit stream on a real Redis, and the one-line / JSON renderings of `shiftroom audit`."""

from __future__ import annotations

import json

import pytest

from app.audit import describe_changes, event_fields, event_from_fields, events_to_json, format_event
from app.model import AuditEvent, Level
from backends.base import AuditLog, Unavailable
from backends.redis import RedisAudit, read_audit
from tests.servers.redis import RedisServer

T0 = 1767225600.0  # 2026-01-01T00:00:00Z


def _event(i: int, **kw: object) -> AuditEvent:
    base = dict(
        t=T0 + i,
        actor="alice",
        target=f"flag:f{i}",
        action="edit",
        reason=f"step {i}",
        before={"percentage": i},
        after={"percentage": i + 1},
        level=Level.INFO,
    )
    base.update(kw)
    return AuditEvent(**base)  # type: ignore[arg-type]


@pytest.mark.integration
async def test_the_stream_is_bounded_and_reads_back_oldest_first(redis_server: RedisServer) -> None:
    audit = RedisAudit(redis_server.url, stream="test:audit", maxlen=100)
    try:
        assert isinstance(audit, AuditLog) and audit.name == "redis"
        for i in range(1000):
            await audit.append(_event(i))
        length = await audit.client.xlen("test:audit")
        assert 100 <= length <= 200, length  # MAXLEN ~ trims whole nodes (100 entries each by default)
        recent = await audit.recent(10)
        assert recent == [_event(i) for i in range(990, 1000)]
        assert await audit.recent(0) == []
        everything = await audit.recent(10_000)
        assert len(everything) == length and everything[-1] == _event(999)
        assert [c.event for c in await read_audit(redis_server.url, 3, stream="test:audit")] == [
            _event(i) for i in range(997, 1000)
        ]
    finally:
        await audit.aclose()


@pytest.mark.integration
async def test_entries_round_trip_every_field_and_foreign_entries_still_show(redis_server: RedisServer) -> None:
    audit = RedisAudit(redis_server.url)
    try:
        event = _event(
            1,
            reason="canary breach: error-rate 7.2% > 5%",
            level=Level.ERROR,
            before={"weights": {"stable": 70, "canary": 30}, "note": "é"},
            after={},
        )
        await audit.append(event)
        await audit.client.xadd("shiftroom:audit", {"action": "manual", "before": "{not json"})
        got = await audit.recent(5)
        assert got[0] == event
        assert got[1].action == "manual" and got[1].before == {"unreadable": "{not json"}
        assert got[1].t > 1e9  # from the entry id's milliseconds
        fields = (await audit.client.xrange("shiftroom:audit", count=1))[0][1]
        assert set(fields) == {b"actor", b"t", b"target", b"action", b"reason", b"before", b"after", b"level"}
    finally:
        await audit.aclose()


@pytest.mark.integration
async def test_append_while_redis_is_down_is_unavailable_in_one_sentence(redis_server: RedisServer) -> None:
    audit = RedisAudit(redis_server.url)
    try:
        await audit.append(_event(0))
        redis_server.stop(kill=True)
        with pytest.raises(Unavailable) as err:
            await audit.append(_event(1))
        text = str(err.value)
        assert text.startswith("Redis at redis://127.0.0.1:") and "audit" in text
        assert text.endswith(".") and ". " not in text and "\n" not in text
    finally:
        await audit.aclose()


def test_format_event_is_one_line_with_what_changed() -> None:
    line = format_event(
        _event(
            0,
            reason="rolled back\nby guard",
            level=Level.WARN,
            action="kill",
            before={"enabled": True, "percentage": 25, "owner": "web"},
            after={"enabled": False, "percentage": 0, "owner": "web"},
        )
    )
    assert line == (
        "2026-01-01T00:00:00Z WARN alice kill flag:f0: rolled back by guard (enabled true → false, percentage 25 → 0)"
    )
    assert format_event(AuditEvent(t=T0, actor="shiftroom", target="engine", action="start")) == (
        "2026-01-01T00:00:00Z INFO shiftroom start engine"
    )


def test_describe_changes_names_added_removed_and_counts_the_rest() -> None:
    assert describe_changes({"a": 1}, {"a": 1}) == ""
    changes = describe_changes({"a": 1, "gone": "x"}, {"a": 2, "new": [1]})
    assert changes == 'a 1 → 2, gone "x" → absent, new absent → [1]'
    many = describe_changes({}, {f"k{i}": i for i in range(6)}, limit=2)
    assert many == "k0 absent → 0, k1 absent → 1, and 4 more"


def test_events_to_json_is_serialisable_and_keeps_every_field() -> None:
    data = events_to_json([_event(0), _event(1, level=Level.ERROR)])
    assert json.loads(json.dumps(data)) == data
    assert data[0]["time"] == "2026-01-01T00:00:00Z" and data[1]["level"] == "error"
    assert data[0]["before"] == {"percentage": 0} and data[0]["reason"] == "step 0"


def test_stream_fields_round_trip_and_tolerate_junk() -> None:
    e = _event(3, before={"x": [1, {"y": None}]})
    assert event_from_fields(event_fields(e)) == e
    junk = event_from_fields({"t": "soon", "level": "loud", "after": "[1]"}, fallback_t=5.0)
    assert (junk.t, junk.level, junk.after, junk.actor) == (5.0, Level.INFO, {"value": [1]}, "?")


@pytest.mark.integration
async def test_a_foreign_entry_with_an_impossible_time_shows_at_its_entry_time(redis_server: RedisServer) -> None:
    audit = RedisAudit(redis_server.url)
    try:
        for t in ("1e400", "nan", "-5", "99999999999999"):
            await audit.client.xadd("shiftroom:audit", {"t": t, "actor": "x", "target": "y", "action": "z"})
        got = await audit.recent(10)
        assert len(got) == 4 and all(1e9 < e.t < 1e11 for e in got)  # from the entry ids' milliseconds
    finally:
        await audit.aclose()

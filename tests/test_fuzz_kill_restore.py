"""Kill then restore is the identity on the stored bytes, for every JSON object the seed would serve.

The objects are drawn as bytes the way any writer might store them: duplicate keys (the seed's
`JSON.parse` serves the last one), keys spelled with escapes, any spacing, lone surrogate
escapes, numbers no double holds, nesting deeper than Shiftroom parses, stored `null`s, and a
`killed` member some other program wrote. The kill must change only the served (last)
occurrence of each member it sets, and the restore must give back exactly the original bytes.
The same holds through the store desk on a real redis-server. (`stored_flags` draws flag-shaped
text; `seed_objects` draws the odd bytes as well.)

Budget: the "ci" profile (small, fixed) by default; `make fuzz` runs the "fuzz" profile.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.clock import EPOCH, VirtualClock
from app.control import flag_edits, rawjson
from app.control.audit_trail import AuditTrail
from app.control.commands import KillFlag, RestoreFlag
from app.control.jobs import JobBoard
from app.control.store_desk import StoreDesk
from backends.redis import RedisStore
from tests.fuzz_strategies import ANY_TEXT, FLAG_FIELDS, FUZZ, JSON_VALUES
from tests.servers.redis import RedisServer, start_redis

KEYS = st.sampled_from(["enabled", "percentage", "userWhitelist", "environments", "description", "x", "killed"])
SPACE = st.sampled_from(["", " ", "\n  ", "\t"])


@st.composite
def stored_flags(draw: st.DrawFn) -> str:
    """A JSON object as another program might have written it: any members, duplicates allowed."""
    members = draw(st.lists(st.tuples(KEYS, JSON_VALUES, SPACE, SPACE), max_size=8))
    body = ",".join(f"{a}{json.dumps(k)}{b}:{b}{json.dumps(v)}" for k, v, a, b in members)
    return "{" + body + draw(SPACE) + "}"


@FUZZ
@given(stored_flags())
def test_kill_then_restore_is_the_identity_on_the_stored_text(text: str) -> None:
    killed = flag_edits.kill(text, "checkout", at=1_700_000_000.0, by="ops@host", reason="incident")
    if killed.problem:  # e.g. a `killed` member that is not an earlier kill's record: refused, nothing to undo
        return
    back = flag_edits.restore(killed.text, "checkout")
    assert not back.problem, back.problem
    assert back.text == text


def test_a_present_null_comes_back_as_null_not_absent() -> None:
    text = '{"enabled": true, "userWhitelist": null, "percentage": 5}'
    back = flag_edits.restore(flag_edits.kill(text, "f", at=0.0, by="a", reason="r").text, "f")
    assert back.text == text


def test_duplicates_keep_every_earlier_occurrence() -> None:
    text = '{"enabled":false, "percentage":10, "enabled":true, "percentage" : 20}'
    killed = flag_edits.kill(text, "f", at=0.0, by="a", reason="r")
    assert killed.text.startswith('{"enabled":false, "percentage":10, "enabled":false, "percentage" : 0')
    assert flag_edits.restore(killed.text, "f").text == text


# ---------------------------------------------------------------- any object the seed accepts, as bytes

SET_BY_KILL = ("enabled", "percentage", "userWhitelist", "environments", "killed")
_WS = st.text(st.sampled_from(" \t\n\r"), max_size=2)


@st.composite
def _key(draw: st.DrawFn) -> str:
    """A member name as JSON text: mostly a flag field, sometimes with a letter written as an escape."""
    name = draw(st.one_of(st.sampled_from(FLAG_FIELDS), st.sampled_from(FLAG_FIELDS), ANY_TEXT))
    text = json.dumps(name, ensure_ascii=draw(st.booleans()))
    if name and name.isascii() and name.isalpha() and draw(st.booleans()):
        i = draw(st.integers(0, len(name) - 1))
        text = json.dumps(name[:i])[:-1] + f"\\u{ord(name[i]):04x}" + json.dumps(name[i + 1 :])[1:]
    return text


@st.composite
def _value(draw: st.DrawFn) -> str:
    """A member value as JSON text, including what no Python parser here reads."""
    kind = draw(st.sampled_from(["json", "json", "json", "odd", "deep", "object"]))
    if kind == "odd":
        return draw(st.sampled_from(["null", "1e400", "-0", "1E+2", "1.50", "9" * 400, '"\\ud800"', "[ 1 ,\n2 ]"]))
    if kind == "deep":
        n = draw(st.integers(65, 300))
        return "[" * n + "]" * n
    if kind == "object":
        return (
            "{" + draw(_WS) + ",".join(f"{draw(_key())}:{draw(_value())}" for _ in range(draw(st.integers(0, 2)))) + "}"
        )
    return json.dumps(draw(JSON_VALUES), ensure_ascii=draw(st.booleans()))


@st.composite
def seed_objects(draw: st.DrawFn) -> bytes:
    """The stored bytes of one JSON object `JSON.parse` accepts (duplicates included)."""
    members = draw(st.lists(st.tuples(_key(), _value()), max_size=8))
    if draw(st.booleans()):  # a duplicate of a member the kill sets, earlier and later
        dup = json.dumps(draw(st.sampled_from(SET_BY_KILL[:3])))
        members.insert(draw(st.integers(0, len(members))), (dup, draw(_value())))
        members.insert(draw(st.integers(0, len(members))), (dup, draw(_value())))
    body = ",".join(f"{draw(_WS)}{k}{draw(_WS)}:{draw(_WS)}{v}{draw(_WS)}" for k, v in members)
    text = draw(_WS) + "{" + body + draw(_WS) + "}" + draw(_WS)
    return text.encode("utf-8", "surrogatepass")  # a raw lone surrogate: bytes that are not UTF-8, as stored


def _kill_record(text: str) -> bool:
    """The object already holds a Shiftroom kill record (a killed flag: a kill keeps its first record)."""
    found = rawjson.members(text)
    assert found is not None, text
    killed = [m for m in found if m.key == "killed"]
    if not killed:
        return False
    inner = rawjson.members(text[killed[-1].value_start : killed[-1].value_end]) or []
    raw = text[killed[-1].value_start : killed[-1].value_end]
    previous = [m for m in inner if m.key == "previous"]
    return bool(previous) and rawjson.members(raw[previous[-1].value_start : previous[-1].value_end]) is not None


def _slices(text: str) -> list[tuple[str, str, str]]:
    found = rawjson.members(text)
    assert found is not None
    return [(m.key, text[m.start : m.value_start], text[m.value_start : m.value_end]) for m in found]


def assert_only_served_occurrences_changed(original: str, killed: str) -> None:
    before, after = _slices(original), _slices(killed)
    assert len(after) >= len(before)
    last = {key: i for i, (key, _, _) in enumerate(before)}
    for i, (key, head, value) in enumerate(before):
        new_key, new_head, new_value = after[i]
        assert (new_key, new_head) == (key, head), "every member keeps its place and its key's bytes"
        if key in SET_BY_KILL and last[key] == i:
            continue  # the occurrence JSON.parse serves: the kill's to set
        assert new_value == value, f"member {i} ({key!r}) changed although the seed does not serve it"
    assert {key for key, _, _ in after[len(before) :]} <= set(SET_BY_KILL), "only the kill's members are added"


@FUZZ
@given(seed_objects())
def test_kill_then_restore_is_the_identity_on_the_stored_bytes(raw: bytes) -> None:
    text = rawjson.decode(raw)
    assert rawjson.members(text) is not None, "the strategy draws JSON objects"
    assume(not _kill_record(text))
    killed = flag_edits.kill(text, "f", at=EPOCH, by="alice@host", reason="drill")
    assert not killed.problem, killed.problem
    assert flag_edits.off_everywhere(killed.text, "f") is None
    assert_only_served_occurrences_changed(text, killed.text)
    restored = flag_edits.restore(killed.text, "f")
    assert not restored.problem, restored.problem
    assert rawjson.encode(restored.text) == raw


# ---------------------------------------------------------------- the cases by name

CASES = {
    "duplicate enabled, the earlier one differs": b'{"enabled":true,"enabled":false,"percentage":5}',
    "duplicate enabled, the served one on": b'{"enabled":false,"owner":"web","enabled":true}',
    "stored nulls": b'{"enabled":true,"userWhitelist":null,"percentage":null}',
    "a killed member another program wrote": b'{"killed":"by ops, 2019","enabled":true}',
    "duplicate killed": b'{"killed":1, "enabled":true, "killed":[2]}',
    "escaped key, spacing": b'{ "en\\u0061bled" : true ,\n "percentage" : 1e400 }\n',
}


@pytest.mark.parametrize("raw", list(CASES.values()), ids=list(CASES))
def test_named_cases_round_trip_byte_for_byte(raw: bytes) -> None:
    text = rawjson.decode(raw)
    killed = flag_edits.kill(text, "f", at=EPOCH, by="alice@host", reason="drill")
    assert not killed.problem and flag_edits.off_everywhere(killed.text, "f") is None
    assert_only_served_occurrences_changed(text, killed.text)
    assert rawjson.encode(flag_edits.restore(killed.text, "f").text) == raw


def test_the_served_occurrence_is_the_one_the_kill_sets() -> None:
    text = '{"enabled":false,"enabled":true,"percentage":30}'
    killed = flag_edits.kill(text, "f", at=EPOCH, by="a@h", reason="r").text
    assert killed.startswith('{"enabled":false,"enabled":false,"percentage":0,')
    record = json.loads(killed)["killed"]
    assert record["previous"] == {"enabled": True, "percentage": 30}
    assert record["absent"] == ["userWhitelist"]


def test_a_legacy_record_without_absent_still_restores_null_as_absent() -> None:
    legacy = (
        '{"enabled":false,"percentage":0,"userWhitelist":[],"killed":{"at":"2026-01-01T00:00:00Z","by":"a@h",'
        '"reason":"r","previous":{"enabled":true,"percentage":25,"userWhitelist":null}}}'
    )
    assert flag_edits.restore(legacy, "f").text == '{"enabled":true,"percentage":25}'


def test_killing_a_killed_flag_keeps_the_first_record_and_restore_goes_back_before_it() -> None:
    original = '{"enabled":true,"userWhitelist":null,"x":1}'
    once = flag_edits.kill(original, "f", at=EPOCH, by="a@h", reason="first").text
    twice = flag_edits.kill(once, "f", at=EPOCH + 60, by="b@h", reason="second").text
    assert json.loads(twice)["killed"]["reason"] == "second"
    assert flag_edits.restore(twice, "f").text == original


# ---------------------------------------------------------------- through the desk, on a real redis-server


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis-kill-restore"))
    yield server
    server.stop(kill=True)


async def _kill_and_restore(url: str, raw: bytes) -> tuple[bytes, bytes, list[Any]]:
    """Store `raw`, kill it and restore it through the desk; the bytes after each, and the audit entries."""
    clock = VirtualClock()
    store = RedisStore(url, clock=clock)
    desk = StoreDesk(store, AuditTrail(store.audit, clock=clock), JobBoard(clock), clock, False, "shiftroom@t#1")
    # the previews' impact lines still run on every object, on 20 sample users rather than 10,000: the bytes are
    # what this test checks, and the per-user evaluations were nearly all of its time
    desk.sample_users = functools.partial(desk.sample_users, 20)  # type: ignore[method-assign]
    client = store.client
    try:
        await client.delete(b"feature:fuzzed", "shiftroom:audit")
        await client.set(b"feature:fuzzed", raw)
        preview = await desk.preview(KillFlag("fuzzed", "drill"))
        killed = await desk.execute(KillFlag("fuzzed", "drill"), preview, "alice@host")
        assert killed.ok, killed.message
        after_kill = await client.get(b"feature:fuzzed")
        restored = await desk.execute(RestoreFlag("fuzzed"), None, "bob@host")
        assert restored.ok, restored.message
        after_restore = await client.get(b"feature:fuzzed")
        entries = await client.xrange("shiftroom:audit")
        assert isinstance(after_kill, bytes) and isinstance(after_restore, bytes) and entries is not None
        return after_kill, after_restore, list(entries)
    finally:
        await store.aclose()


@pytest.mark.integration
@FUZZ
@given(seed_objects())
def test_kill_then_restore_through_the_desk_on_redis_gives_back_the_stored_bytes(
    module_redis: RedisServer, raw: bytes
) -> None:
    text = rawjson.decode(raw)
    assume(not _kill_record(text))
    after_kill, after_restore, entries = asyncio.run(_kill_and_restore(module_redis.url, raw))
    assert_only_served_occurrences_changed(text, rawjson.decode(after_kill))
    assert after_restore == raw
    assert [fields[b"action"] for _, fields in entries] == [b"flag-kill", b"flag-restore"]


@pytest.mark.integration
@pytest.mark.parametrize("raw", list(CASES.values()), ids=list(CASES))
def test_named_cases_through_the_desk_on_redis(module_redis: RedisServer, raw: bytes) -> None:
    after_kill, after_restore, _ = asyncio.run(_kill_and_restore(module_redis.url, raw))
    assert json.loads(after_kill)["enabled"] is False  # as the seed's JSON.parse reads it: the last one
    assert after_restore == raw

"""app.safejson: every input is a value or one phrase; writes are what node's JSON.stringify writes."""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess

import pytest

from app.safejson import MAX_DEPTH, REMOVE, dumps, js_number, loads, loads_object, splice_object

NODE = shutil.which("node")


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"[" * 1000 + b"]" * 1000, "nested deeper than 64 levels"),
        ('{"public":' + "[" * 100_000, "nested deeper than 64 levels"),
        ('{"percentage":1e400}', "number 1e400 is out of range"),
        ('{"percentage":-1e400}', "number -1e400 is out of range"),
        ('{"percentage":' + "9" * 400 + "}", "is out of range"),
        ('{"percentage":' + "9" * 5000 + "}", "is out of range"),  # past int's str-digits limit too
        (b'{"a":"\xff"}', "not UTF-8 at byte 6"),
        (b'{"a":"\xed\xa0\x80"}', "not UTF-8 at byte 6"),  # an encoded surrogate is not UTF-8
        ('{"enabled":true,"enabled":false}', "duplicate key 'enabled'"),
        ('{"x":NaN}', "NaN is not JSON"),
        ('{"x":Infinity}', "Infinity is not JSON"),
        ('{"x":-Infinity}', "-Infinity is not JSON"),
        (b"\xef\xbb\xbf{}", "byte-order mark"),
        ("\ufeff{}", "byte-order mark"),
        (b"\xff\xfe{\x00}\x00", "byte-order mark"),
        ("", "not valid JSON (expecting value at line 1 column 1)"),
        ('{"a":1,}', "not valid JSON"),
        ('{"a":"\x01"}', "not valid JSON"),  # raw control characters are not allowed in strings
        ("{'a':1}", "not valid JSON"),
        ("[1] [2]", "not valid JSON (extra data"),
    ],
)
def test_every_bad_input_is_one_phrase(data: bytes | str, phrase: str) -> None:
    parsed = loads(data)
    assert not parsed.ok
    assert parsed.value is None
    assert phrase in parsed.error
    assert "\n" not in parsed.error and len(parsed.error) < 120


def test_depth_limit_is_exact_and_strings_do_not_count() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH).ok
    assert not loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).ok
    inside_string = '{"a":"' + "[{" * 500 + '"}'
    assert loads(inside_string).value == {"a": "[{" * 500}
    escaped_quote = '{"a":"\\"' + "[" * 200 + '"}'
    assert loads(escaped_quote).ok


def test_lone_surrogates_are_valid_and_kept() -> None:
    parsed = loads_object('{"name":"\\ud800x","public":{"k":"\\udfff"}}')
    assert parsed.ok
    assert parsed.value == {"name": "\ud800x", "public": {"k": "\udfff"}}
    assert dumps(parsed.value) == '{"name":"\\ud800x","public":{"k":"\\udfff"}}'


def test_top_level_kind_is_reported_by_loads_object() -> None:
    assert loads("[1]").ok
    assert loads_object("[1]").error == "the top level is an array, not an object"
    assert loads_object("null").error == "the top level is null, not an object"
    assert loads_object('"x"').error == "the top level is a string, not an object"


def test_numbers_in_range_are_kept_exactly() -> None:
    assert loads('{"p":1e308,"q":1e-400,"r":12345678901234567890}').value == {
        "p": 1e308,
        "q": 0.0,
        "r": 12345678901234567890,
    }


def test_dumps_refuses_what_json_cannot_hold() -> None:
    for bad in (math.nan, math.inf, {1: 2}, {"a": {1, 2}}, b"x"):
        with pytest.raises(ValueError):
            dumps(bad)
    deep: list[object] = []
    for _ in range(MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        dumps(deep)
    assert dumps({"a": 1.0}, compact=False) == '{"a": 1.0}'


def test_splice_keeps_every_untouched_byte() -> None:
    raw = '{"enabled":true, "percentage":25.0,"odd":"\\u00e9\\ud800","public":{"x":1E2}}'
    assert splice_object(raw, {"enabled": False}) == raw.replace("true", "false")
    assert splice_object(raw, {"percentage": REMOVE}) == '{"enabled":true, "odd":"\\u00e9\\ud800","public":{"x":1E2}}'
    assert splice_object(raw, {"public": REMOVE}) == '{"enabled":true, "percentage":25.0,"odd":"\\u00e9\\ud800"}'
    assert splice_object(raw, {"new": [1]}).endswith(',"public":{"x":1E2},"new":[1]}')
    assert splice_object("{}", {"a": 1}) == '{"a":1}'
    assert splice_object('{"a":1}', {"a": REMOVE}) == "{}"
    assert json.loads(splice_object(' {\n  "a": 1,\n  "b": 2\n}\n', {"a": REMOVE, "c": 3})) == {"b": 2, "c": 3}
    with pytest.raises(ValueError):
        splice_object('{"a":1,"a":2}', {"a": 3})


def _node(script: str, payload: object) -> object:
    assert NODE is not None
    proc = subprocess.run(
        [NODE, "-e", script], input=json.dumps(payload), capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(proc.stdout)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_numbers_and_strings_written_as_json_stringify_writes_them() -> None:
    rng = random.Random(7)
    numbers = [
        0.1,
        1e21,
        1e20,
        1e-7,
        1e-6,
        5e-324,
        1.7976931348623157e308,
        -2.5,
        25.0,
        123456789012345680000.0,
        0.00001234,
        -0.0,
        2**53 + 2.0,
    ]
    numbers += [rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30) for _ in range(400)]
    numbers += [float(rng.randint(-(10**22), 10**22)) for _ in range(100)]
    strings = ["é", "\u2028", "\x7f", "\x1b[2J", "\ud83d\ude00", "\ud800", "a\udc00b", '"\\/', "\x00\x1f"]
    # ensure_ascii keeps lone surrogates as escapes on the way in; node reads them as lone code units
    script = (
        "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{const v=JSON.parse(d);"
        "console.log(JSON.stringify({n:v.n.map(x=>JSON.stringify(x)),s:v.s.map(x=>JSON.stringify(x))}))})"
    )
    out = _node(script, {"n": numbers, "s": strings})
    assert isinstance(out, dict)
    assert [js_number(x) for x in numbers] == out["n"]
    assert [dumps(s) for s in strings] == out["s"]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_what_node_rejects_is_rejected_here_too() -> None:
    texts = [
        '{"a":1,}',
        "[01]",
        "[1.]",
        "[.5]",
        '["\\x41"]',
        "[+1]",
        "[0x10]",
        '{"a" 1}',
        "[1e5]",
        "[-0]",
        '["\\u00"]',
        "[true]",
        "[nul]",
        "\u00a0[1]",
        " \t\n[1] ",
        "[1]\x0b",
        '"\\ud800"',
        "[-]",
    ]
    script = (
        "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{console.log(JSON.stringify("
        "JSON.parse(d).map(t=>{try{JSON.parse(t);return true}catch(e){return false}})))})"
    )
    accepted = _node(script, texts)
    assert [loads(t).ok for t in texts] == accepted

"""Property tests: every parser of outside data, the flag evaluator and the sanitizer, over hostile input.

Budget: the "ci" profile (small, fixed) by default; `make fuzz` runs the "fuzz" profile.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app import safejson
from app.audit import InvalidEntry, format_event, format_invalid, parse_entry
from app.config import ConfigError, load_config
from app.experiments import assign_variant, experiment_errors, parse_experiment
from app.flags import FlagEvaluationError, evaluate, parse_flag, served, validate_flag_config
from app.model import AuditEvent, Flag
from app.sanitize import clean, is_clean
from backends.sim.scenario import ScenarioError, parse_scenario
from tests.fuzz_strategies import (
    ANY_TEXT,
    EXPERIMENT_LIKE,
    FLAG_LIKE,
    FUZZ,
    HOSTILE_TEXT,
    JSON_VALUES,
    malformed_json,
)

CONTROL = {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


# ---------------------------------------------------------------- safejson


@FUZZ
@given(st.one_of(st.binary(max_size=200), ANY_TEXT, malformed_json()))
def test_loads_never_raises_and_says_why(data: bytes | str) -> None:
    parsed = safejson.loads(data)
    assert parsed.ok == (parsed.error == "")
    if not parsed.ok:
        assert parsed.value is None and "\n" not in parsed.error and len(parsed.error) < 200


@FUZZ
@given(JSON_VALUES)
def test_dumps_then_loads_is_the_same_value(value: Any) -> None:
    text = safejson.dumps(value)
    parsed = safejson.loads(text)
    assert parsed.ok, parsed.error
    assert _same(parsed.value, value)
    assert safejson.loads(text.encode("utf-8")).ok  # lone surrogates are escapes: the bytes are UTF-8


def _same(a: Any, b: Any) -> bool:
    """Equal as JavaScript reads them: numbers as doubles (`JSON.stringify` writes the shortest digits)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b) if abs(a) < 2**53 or isinstance(b, float) or isinstance(a, float) else a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@FUZZ
@given(
    st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=6),
    st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=3),
    st.sets(ANY_TEXT, max_size=2),
)
def test_splice_changes_only_the_named_fields(base: dict[str, Any], changes: dict[str, Any], removed: set[str]) -> None:
    raw = json.dumps(base, separators=(",", ": "))
    edit: dict[str, Any] = {**changes, **{k: safejson.REMOVE for k in removed - set(changes)}}
    out = safejson.splice_object(raw, edit)
    expected = {k: v for k, v in {**base, **changes}.items() if k not in removed - set(changes)}
    assert _same(safejson.loads(out).value, expected)  # new values written as JSON.stringify writes them
    for key, value in base.items():  # every untouched member is there byte for byte
        if key not in edit:
            assert json.dumps({key: value}, separators=(",", ": "))[1:-1] in out


# ---------------------------------------------------------------- flags and the evaluator


@FUZZ
@given(st.one_of(malformed_json(), st.binary(max_size=100)), HOSTILE_TEXT)
def test_parse_flag_never_raises_on_bytes(raw: bytes, name: str) -> None:
    flag = parse_flag(name, raw)
    assert isinstance(flag, Flag) and flag.name == name
    assert flag.valid or flag.error.startswith(f"Flag {name}")


@FUZZ
@given(FLAG_LIKE)
def test_parse_flag_never_coerces(config: dict[str, Any]) -> None:
    flag = parse_flag("f", config)
    errors = validate_flag_config(config)
    assert flag.valid == (not errors)
    for field in errors:
        assert field in flag.error or errors[field].rstrip(".") in flag.error
    if "enabled" in config and "enabled" not in errors:
        assert flag.enabled is config["enabled"]
    if "enabled" in errors:
        assert flag.enabled is False  # the default, not a truthiness guess


@FUZZ
@given(
    st.one_of(FLAG_LIKE, JSON_VALUES),
    st.one_of(st.none(), ANY_TEXT),
    st.one_of(st.none(), ANY_TEXT),
    st.one_of(st.none(), ANY_TEXT),
)
def test_evaluate_raises_only_where_the_seed_throws(
    config: Any, user: str | None, env: str | None, name: str | None
) -> None:
    try:
        result = evaluate(config, user, env, name=name)
    except FlagEvaluationError:
        result = None
    assert result in (True, False, None)
    assert served(config, user, env, name=name) in (True, False)


# ---------------------------------------------------------------- experiments


@FUZZ
@given(st.one_of(malformed_json(), EXPERIMENT_LIKE.map(json.dumps)), HOSTILE_TEXT, ANY_TEXT)
def test_parse_experiment_never_raises(raw: bytes | str, exp_id: str, user: str) -> None:
    experiment = parse_experiment(exp_id, raw)
    assert experiment.id == exp_id
    if not experiment.error:
        assert isinstance(assign_variant(experiment, user), str)


@FUZZ
@given(EXPERIMENT_LIKE)
def test_experiment_errors_match_parse(config: dict[str, Any]) -> None:
    errs = experiment_errors(config)
    experiment = parse_experiment("x", config)
    assert bool(errs) == bool(experiment.error)
    assert all(math.isfinite(v) for v in experiment.traffic_split.values())


# ---------------------------------------------------------------- audit entries


_field_values = st.one_of(
    st.binary(max_size=40),
    HOSTILE_TEXT,
    st.sampled_from(["1767225600.0", "nan", "1e400", "-5", "info", "warn", "{}", "[]"]),
)
_fields = st.dictionaries(
    st.one_of(
        st.sampled_from(["t", "actor", "target", "action", "reason", "before", "after", "level"]), st.binary(max_size=8)
    ),
    _field_values,
    max_size=10,
)


@FUZZ
@given(st.one_of(st.binary(max_size=20), ANY_TEXT), _fields)
def test_parse_entry_gives_an_event_or_an_invalid_marker(entry_id: bytes | str, fields: dict[Any, Any]) -> None:
    entry = parse_entry(entry_id, fields)
    assert isinstance(entry, (AuditEvent, InvalidEntry))
    line = format_event(entry) if isinstance(entry, AuditEvent) else format_invalid(entry)
    assert is_clean(line) and "\n" not in line


# ---------------------------------------------------------------- config and scenario files

_yaml_texts = st.one_of(
    ANY_TEXT,
    st.builds(
        lambda k, v: f"{k}: {v}\n",
        st.sampled_from(["theme", "redis", "prometheus", "keymap", "rps", "notify", "read_only", "events"]),
        ANY_TEXT,
    ),
    st.integers(1, 3000).map(lambda n: "a: " + "[" * n + "]" * n),
    st.integers(1, 200).map(lambda n: "a:\n" + "".join("  " * i + "b:\n" for i in range(1, n))),
    st.sampled_from(
        [
            "rps: {frontend: .nan}",
            "rps: {frontend: -10}",
            "duration: .inf",
            "a: &x [*x]",
            "redis: {url: 'redis://h:abc'}",
            "prometheus: {url: 'http://[::1'}",
            "theme: [1, 2]",
        ]
    ),
)


@FUZZ
@given(st.one_of(st.binary(max_size=200), _yaml_texts.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_config_files_load_or_say_why(tmp_path_factory: Any, data: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("cfg")) / "c.yaml"
    path.write_bytes(data)
    try:
        load_config(str(path), env={})
    except ConfigError as err:
        sentence = str(err)
        assert sentence and "\n" not in sentence.strip() and "Traceback" not in sentence


@FUZZ
@given(_yaml_texts)
def test_scenario_texts_parse_or_say_why(text: str) -> None:
    try:
        parse_scenario(text, "s.yaml")
    except ScenarioError as err:
        assert str(err).startswith("s.yaml")


# ---------------------------------------------------------------- the sanitizer


@FUZZ
@given(
    st.one_of(HOSTILE_TEXT, ANY_TEXT, st.binary(max_size=40)), st.one_of(st.none(), st.integers(0, 30)), st.booleans()
)
def test_clean_output_never_holds_a_control_character(value: Any, limit: int | None, multiline: bool) -> None:
    out = clean(value, limit, multiline=multiline)
    assert not (set(out) & (CONTROL - ({"\n"} if multiline else set())))
    assert not any(
        "\ud800" <= c <= "\udfff" or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in out
    )
    if limit is not None:
        assert len(out) <= max(limit, 1)
    if not multiline:
        assert is_clean(out)

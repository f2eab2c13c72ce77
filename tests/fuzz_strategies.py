"""Hypothesis profiles and strategies shared by the fuzz tests (tests/test_fuzz_*.py).

Profiles: "ci" (the default: a small fixed budget, derandomized, so `make test`
stays fast and deterministic) and "fuzz" (`make fuzz`: many examples, random).
Choose with `HYPOTHESIS_PROFILE`. The profiles are applied per test through
`FUZZ`, so other hypothesis tests of the suite keep their own settings.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "ci", max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,  # no example database (tests/conftest.py): a failure prints how to reproduce it
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
FUZZ = settings(settings.get_profile(PROFILE))
#: How many malformed values the real-Redis test writes.
REDIS_VALUES = int(os.environ.get("SHIFTROOM_FUZZ_REDIS_VALUES", "2000"))

#: Any code point, lone surrogates included (JSON allows them; the seed serves them).
ANY_CHAR = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHAR, max_size=40)
HOSTILE_TEXT = st.text(
    st.one_of(ANY_CHAR, st.sampled_from(["\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\ud800", "\x7f", "\n", "]"])),
    max_size=30,
)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    ANY_TEXT,
)
JSON_VALUES = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(ANY_TEXT, inner, max_size=5)),
    max_leaves=25,
)
FLAG_FIELDS = ("enabled", "environments", "userWhitelist", "percentage", "public", "bucketing", "killed")
#: Objects shaped like flags, with any type in any field.
FLAG_LIKE = st.dictionaries(st.one_of(st.sampled_from(FLAG_FIELDS), ANY_TEXT), JSON_VALUES, max_size=8)
EXPERIMENT_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "name": JSON_VALUES,
        "status": st.one_of(st.sampled_from(["active", "paused", "draft"]), JSON_VALUES),
        "traffic_split": st.one_of(st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=4), JSON_VALUES),
        "metrics": JSON_VALUES,
        "duration_days": JSON_VALUES,
        "min_sample_size": JSON_VALUES,
    },
)


def dumps_any(value: Any) -> str:
    """JSON text the way Python writes it (lone surrogates as escapes)."""
    return json.dumps(value)


@st.composite
def malformed_json(draw: st.DrawFn) -> bytes:
    """Bytes a hostile or buggy writer might store: mostly JSON-ish, each with one kind of damage."""
    value = draw(st.one_of(FLAG_LIKE, EXPERIMENT_LIKE, JSON_VALUES))
    text = dumps_any(value)
    damage = draw(
        st.sampled_from(
            ["none", "deep", "huge-number", "nan", "dup", "bom", "latin1", "cut", "bytes", "surrogate", "wide"]
        )
    )
    if damage == "deep":
        n = draw(st.integers(60, 3000))
        text = '{"public":' + "[" * n + "]" * n + "}"
    elif damage == "huge-number":
        text = '{"percentage":' + draw(st.sampled_from(["1e400", "-1e999", "9" * 400, "1" + "0" * 5000])) + "}"
    elif damage == "nan":
        text = '{"percentage":' + draw(st.sampled_from(["NaN", "Infinity", "-Infinity"])) + "}"
    elif damage == "dup":
        text = '{"enabled":true,"enabled":false}'
    elif damage == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    elif damage == "latin1":
        return text.encode() + b"\xe9\xff"
    elif damage == "cut":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif damage == "bytes":
        return draw(st.binary(max_size=64))
    elif damage == "surrogate":
        text = '{"enabled":true,"public":{"k":"\\ud800"},"name":"\\udfff"}'
    elif damage == "wide":
        text = json.dumps({"public": {str(i): "x" * 50 for i in range(draw(st.integers(100, 2000)))}})
    return text.encode("utf-8", "surrogatepass")


_PIECES = ["\x1b[2J", "\u202e", "\ud800", "é", "\x00", '"', "\\", "😀", "\u2028", "a", "enabled", ":"]


def random_text(rng: random.Random, n: int = 12) -> str:
    return "".join(rng.choice(_PIECES) if rng.random() < 0.3 else chr(rng.randint(32, 0x2FF)) for _ in range(n))


def random_malformed(rng: random.Random) -> bytes:
    """One malformed (or valid) stored value, fast: what `malformed_json` draws, for thousands of Redis keys."""
    kind = rng.randrange(12)
    if kind == 0:
        n = rng.randint(60, 3000)
        return ('{"public":' + "[" * n + "]" * n + "}").encode()
    if kind == 1:
        return ('{"percentage":' + rng.choice(["1e400", "-1e999", "9" * 400, "NaN", "Infinity"]) + "}").encode()
    if kind == 2:
        return b'{"enabled":true,"enabled":false}'
    if kind == 3:
        return b"\xef\xbb\xbf" + b'{"enabled":true}'
    if kind == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    if kind == 5:
        return b'{"enabled":true,"public":{"k":"\\ud800"},"name":"\\udfff"}'
    if kind == 6:
        return json.dumps({"public": {str(i): "x" * 50 for i in range(rng.randint(100, 2000))}}).encode()
    if kind == 7:
        fields = {"enabled": "yes", "percentage": "20", "environments": "production", "userWhitelist": [1, 2]}
        return json.dumps(dict(rng.sample(sorted(fields.items()), rng.randint(1, 4)))).encode()
    if kind == 8:
        return json.dumps(
            {"name": random_text(rng), "status": "active", "traffic_split": {random_text(rng, 4): 50, "control": 50}}
        ).encode("utf-8", "surrogatepass")
    if kind == 9:
        return json.dumps({"enabled": True, "environments": [random_text(rng)]})[: rng.randint(0, 30)].encode()
    if kind == 10:
        return json.dumps([random_text(rng), rng.random()]).encode("utf-8", "surrogatepass")
    return json.dumps({"enabled": rng.random() < 0.5, "percentage": rng.randint(0, 100)}).encode()

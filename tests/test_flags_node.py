"""seed_hash and evaluate against the seed's own JavaScript, run under node.

tests/js/seed_flags.js holds the seed's `evaluateFlag` and `simpleHash`
verbatim; these tests feed it thousands of ids and many configs (quirks
included) and compare every answer with the Python port.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.flags import FlagEvaluationError, evaluate, seed_hash

NODE = shutil.which("node")
SCRIPT = Path(__file__).parent / "js" / "seed_flags.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: the seed's JavaScript cannot be run")


def run_seed(hash_inputs: list[str] = (), evals: list[dict[str, Any]] = ()) -> dict[str, Any]:
    req = json.dumps({"hash": list(hash_inputs), "eval": list(evals)})  # ensure_ascii: lone surrogates survive
    proc = subprocess.run([NODE, str(SCRIPT)], input=req, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def _random_string(rng: random.Random) -> str:
    pools = [
        (0x20, 0x7E),
        (0xA0, 0x24F),
        (0x4E00, 0x9FFF),
        (0xAC00, 0xD7A3),
        (0xE000, 0xFFFF),
        (0x1F300, 0x1FAFF),
        (0x1D400, 0x1D7FF),
        (0x10000, 0x10FFFF),
    ]
    out = []
    for _ in range(rng.randint(0, 40)):
        lo, hi = rng.choice(pools)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def _min_int32_string() -> str:
    """A string whose 32-bit hash is exactly -2**31 (JS Math.abs gives 2**31 for it)."""
    target = 0x80000000
    for i in range(1_000_000):
        prefix = f"x{i}"
        hp = 0
        for ch in prefix:
            hp = (hp * 31 + ord(ch)) & 0xFFFFFFFF
        r = (target - 961 * hp) % 2**32
        c1, c2 = divmod(r, 31)
        if 0x41 <= c1 - 2 < 0xD800:
            s = prefix + chr(c1 - 2) + chr(c2 + 62)
            assert seed_hash(s) == 2**31
            return s
    raise AssertionError("no string found")


def test_seed_hash_matches_javascript_on_thousands_of_ids() -> None:
    rng = random.Random(20260101)
    ids = [f"user-{i}" for i in range(5000)]
    ids += [str(i) for i in range(500)]
    ids += ["", "anonymous", "müller", "Müller", "用户", "用户-42", "😀", "𝔘ser", "👩‍👩‍👧‍👦", "é" * 3, "e\u0301"]
    ids += ["a" * 10_000, "ø" * 4097, "😀" * 3000, "x" * 65537]
    ids += [_random_string(rng) for _ in range(3000)]
    ids += ["\ud800", "a\udfffb", "\udbff\udc00"]  # lone surrogates: JSON carries them to JS too
    ids.append(_min_int32_string())
    js = run_seed(hash_inputs=ids)["hash"]
    py = [seed_hash(s) for s in ids]
    mismatches = [(s[:20], p, j) for s, p, j in zip(ids, py, js, strict=True) if p != j]
    assert mismatches == []
    assert len(js) == len(ids) > 8000
    assert max(js) == 2**31  # the Math.abs(-2**31) case was really exercised


CONFIGS: list[Any] = [
    {},
    {"enabled": True},
    {"enabled": False},
    {"enabled": "yes"},
    {"enabled": 0},
    {"enabled": []},
    {"enabled": {}},
    {"enabled": ""},
    {"enabled": None},
    {"environments": [], "enabled": True},
    {"environments": ["production", "staging"], "enabled": True},
    {"environments": ["production", "staging"], "percentage": 25, "enabled": True},
    {"environments": "production", "enabled": True},  # a string: substring match
    {"environments": "undefined-and-production", "enabled": True},
    {"environments": ["1", None, 1], "enabled": True},
    {"environments": [None], "enabled": True},
    {"environments": "", "enabled": True},
    {"environments": 0, "enabled": True},
    {"environments": None, "enabled": True},
    {"environments": 5, "enabled": True},  # throws
    {"environments": {}, "enabled": True},  # throws
    {"environments": True, "enabled": True},  # throws
    {"userWhitelist": ["user-1", "user-42", "1"], "percentage": 10},
    {"userWhitelist": [1, 42, None], "enabled": False},
    {"userWhitelist": "user-1,user-2", "enabled": False},
    {"userWhitelist": "undefined", "enabled": False},
    {"userWhitelist": "", "enabled": True},
    {"userWhitelist": [], "percentage": 50},
    {"userWhitelist": 7, "enabled": True},  # throws
    {"userWhitelist": {"user-1": True}},  # throws
    {"percentage": 0, "enabled": True},
    {"percentage": 0.0, "enabled": True},
    {"percentage": 10},
    {"percentage": 25},
    {"percentage": 50, "enabled": False},
    {"percentage": 100},
    {"percentage": 99.5},
    {"percentage": 0.5},
    {"percentage": -5, "enabled": True},
    {"percentage": 150},
    {"percentage": "25"},
    {"percentage": " 30 "},
    {"percentage": "abc", "enabled": True},
    {"percentage": "0x1F"},
    {"percentage": "1e1"},
    {"percentage": "  "},
    {"percentage": "", "enabled": True},
    {"percentage": "Infinity"},
    {"percentage": "-0x10"},
    {"percentage": "0b101"},
    {"percentage": "0o17"},
    {"percentage": "1_0"},
    {"percentage": True},
    {"percentage": False, "enabled": True},
    {"percentage": [50]},
    {"percentage": []},
    {"percentage": [[30]]},
    {"percentage": [None]},
    {"percentage": [1, 2]},
    {"percentage": {}},
    {"percentage": ["40"]},
    {"percentage": [True]},
    {"percentage": 10**30},
    {"percentage": None, "enabled": True},
    {"percentage": 25, "bucketing": "flag-salted"},  # no name given: seed bucketing, as the seed does
    {"environments": ["production"], "userWhitelist": ["user-7"], "percentage": 30, "enabled": True, "x": 1},
    None,
    5,
    "abc",
    [],
    [1],
    True,
]
USERS: list[str | None] = [
    None,
    "",
    "1",
    "user-1",
    "user-42",
    "user-7",
    "undefined",
    "anonymous",
    "müller",
    "用户",
    "😀",
    "𝔘ser",
    "user-",
] + [f"user-{i}" for i in range(100, 160)]
ENVS: list[str | None] = [None, "", "production", "staging", "prod", "undefined", "Production", "1"]


def test_evaluate_matches_javascript_on_every_config_user_and_environment() -> None:
    cases = []
    for config in CONFIGS:
        for uid in USERS:
            for env in ENVS:
                case: dict[str, Any] = {"config": config}
                if uid is not None:
                    case["userId"] = uid
                if env is not None:
                    case["environment"] = env
                cases.append(case)
    js = run_seed(evals=cases)["eval"]
    assert len(js) == len(cases) > 30_000
    mismatches = []
    throws = 0
    for case, answer in zip(cases, js, strict=True):
        try:
            got: Any = evaluate(case["config"], case.get("userId"), case.get("environment"))
        except FlagEvaluationError:
            got = "throws"
        want = "throws" if "error" in answer else answer["truthy"]
        throws += want == "throws"
        if got != want:
            mismatches.append((case, got, want))
    assert mismatches[:5] == []
    assert throws > 0  # the error cases were really exercised
    assert {a.get("truthy") for a in js} >= {True, False}


def test_flag_salted_bucket_is_the_seed_hash_of_name_colon_id() -> None:
    users = [f"user-{i}" for i in range(2000)] + ["müller", "😀"]
    js = run_seed(hash_inputs=[f"new-product-design:{u}" for u in users])["hash"]
    config = {"percentage": 25, "bucketing": "flag-salted"}
    for u, h in zip(users, js, strict=True):
        assert evaluate(config, u, None, name="new-product-design") == (h % 100 < 25)

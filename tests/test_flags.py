"""Flag evaluation quirks, names, validation, parsing and cohorts (no node needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.flags import (
    FlagEvaluationError,
    bucket,
    bucket_histogram,
    cohort_diff,
    evaluate,
    flag_to_json,
    hash_numbered_ids,
    parse_flag,
    seed_hash,
    served,
    validate_flag_config,
    validate_flag_name,
)
from app.model import Flag


# Values computed by the seed's simpleHash under node (see test_flags_node.py for the live check).
@pytest.mark.parametrize(("s", "h"), [("", 0), ("a", 97), ("user-1", 836031825), ("😀", 1772899), ("\ud800", 55296)])
def test_seed_hash_known_values(s: str, h: int) -> None:
    assert seed_hash(s) == h


def test_seed_hash_counts_utf16_code_units_and_wraps_to_31_bits() -> None:
    assert seed_hash("😀") == 0xD83D * 31 + 0xDE00  # two surrogates, not one code point
    assert seed_hash("😀") != ord("😀")
    assert all(0 <= seed_hash(s) <= 2**31 for s in ["x" * 1000, "用户" * 99, "𝔘ser"])


def test_empty_environment_list_denies_every_environment() -> None:
    cfg = {"enabled": True, "environments": []}
    assert [evaluate(cfg, "u", e) for e in ("production", "", None)] == [False, False, False]
    assert evaluate({"enabled": True}, "u", None) is True  # absent: every environment


def test_percentage_zero_falls_through_to_enabled() -> None:
    assert evaluate({"percentage": 0, "enabled": True}, "u", None) is True
    assert evaluate({"percentage": 0}, "u", None) is False


def test_empty_user_id_is_anonymous_and_whitelist_uses_same_value_zero() -> None:
    pct = seed_hash("anonymous") % 100  # 9 is its bucket
    assert evaluate({"percentage": pct + 1}, "", None) is True
    assert evaluate({"percentage": pct}, "", None) is False
    assert evaluate({"percentage": pct}, None, None) is False
    assert evaluate({"userWhitelist": [1]}, "1", None) is False
    assert evaluate({"userWhitelist": ["1"]}, "1", None) is True
    assert evaluate({"userWhitelist": [None], "enabled": False}, None, None) is False


def test_whitelist_string_is_a_substring_match_and_non_lists_throw() -> None:
    assert evaluate({"userWhitelist": "user-1,user-2"}, "user-2", None) is True
    assert evaluate({"userWhitelist": "undefined"}, None, None) is True  # String(undefined)
    with pytest.raises(FlagEvaluationError):
        evaluate({"environments": 5}, "u", "production")
    with pytest.raises(FlagEvaluationError):
        evaluate(None, "u", None)
    assert served({"environments": 5, "enabled": True}, "u", "production") is False


def test_percentage_string_and_array_coerce_like_javascript() -> None:
    uid = next(f"user-{i}" for i in range(1000) if seed_hash(f"user-{i}") % 100 == 20)
    assert evaluate({"percentage": "25"}, uid, None) is True
    assert evaluate({"percentage": [25]}, uid, None) is True
    assert evaluate({"percentage": "abc", "enabled": True}, uid, None) is False
    assert evaluate({"percentage": "0x1F"}, uid, None) is True  # 31


def test_flag_salted_needs_the_name_and_changes_the_cohort() -> None:
    cfg = {"percentage": 10, "bucketing": "flag-salted"}
    users = [f"user-{i}" for i in range(2000)]
    seed_on = {u for u in users if evaluate(cfg, u, None)}
    salted_on = {u for u in users if evaluate(cfg, u, None, name="ai-recommendations")}
    assert seed_on == {u for u in users if seed_hash(u) % 100 < 10}
    assert salted_on == {u for u in users if seed_hash(f"ai-recommendations:{u}") % 100 < 10}
    assert seed_on != salted_on
    assert bucket("u", name="f", bucketing="flag-salted") == seed_hash("f:u") % 100


@pytest.mark.parametrize(
    "name",
    ["", "a:b", "a*", "a?", "a[1]", "a b", "tab\t", "nl\n", "nul\x00", "bell\x07", "zw\u200b", "x" * 129, "a\\b"],
)
def test_flag_names_that_could_escape_the_key_prefix_are_refused(name: str) -> None:
    with pytest.raises(ValueError) as err:
        validate_flag_name(name)
    assert str(err.value).endswith(".") and "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["new-product-design", "ai_recommendations", "v2.checkout", "müller-flag", "x" * 128])
def test_ordinary_flag_names_are_accepted(name: str) -> None:
    validate_flag_name(name)


def test_validate_flag_config_names_each_bad_field() -> None:
    assert validate_flag_config({"enabled": True, "environments": ["p"], "percentage": 25, "public": {}}) == {}
    errs = validate_flag_config(
        {
            "enabled": "yes",
            "environments": "prod",
            "userWhitelist": [1],
            "percentage": 101,
            "public": [],
            "bucketing": "random",
        }
    )
    assert set(errs) == {"enabled", "environments", "userWhitelist", "percentage", "public", "bucketing"}
    assert validate_flag_config({"percentage": True}) == {
        "percentage": "percentage must be a number from 0 to 100, not a boolean true."
    }
    assert validate_flag_config([]) == {"config": "A flag must be a JSON object, not an array."}
    assert validate_flag_config({"environments": None, "bucketing": "flag-salted"}) == {}


def test_parse_flag_reads_valid_json() -> None:
    raw = json.dumps(
        {
            "enabled": True,
            "environments": ["production"],
            "userWhitelist": ["a"],
            "percentage": 25,
            "public": {"theme": "v2"},
            "owner": "team-x",
        }
    )
    f = parse_flag("new-product-design", raw.encode())
    assert f == Flag(
        name="new-product-design",
        enabled=True,
        environments=("production",),
        user_whitelist=("a",),
        percentage=25.0,
        public={"theme": "v2"},
    )
    assert f.valid


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "byte-order mark"),
        (b'{"a":"\xff"}', "not UTF-8 at byte 6"),
        ("[1,2]", "not an object"),
        ('{"percentage": "half"}', 'not a string "half"'),
        ('{"enabled": 1, "public": 3}', "enabled must be true or false, not a number 1; public must be"),
    ],
)
def test_parse_flag_never_raises_and_says_what_is_wrong(raw: bytes | str, fragment: str) -> None:
    f = parse_flag("f", raw)
    assert not f.valid and fragment in f.error and f.error.endswith(".")
    assert f.error.count(". ") == 0  # one sentence


def test_flag_to_json_keeps_unknown_fields_and_order() -> None:
    original = {"owner": "team-x", "enabled": False, "percentage": 25, "rules": [{"a": 1}], "public": {"k": 1}}
    f = parse_flag("f", json.dumps(original))
    assert flag_to_json(f, original) == original  # round trip is the identity
    changed = flag_to_json(f.model_copy(update={"enabled": True, "percentage": 50.0}), original)
    assert changed == {**original, "enabled": True, "percentage": 50}
    assert list(changed) == list(original)
    assert isinstance(changed["percentage"], int)
    patch = flag_to_json({"user_whitelist": ("u1",), "environments": None}, {"environments": ["p"], "x": 1})
    assert patch == {"x": 1, "userWhitelist": ["u1"]}


def test_cohort_diff_counts_gained_and_lost_users() -> None:
    users = [f"user-{i}" for i in range(5000)]
    before = {"percentage": 10}
    after = {"percentage": 25}
    gain, lose = cohort_diff(before, after, users, None)
    assert lose == 0
    assert gain == sum(1 for u in users if 10 <= seed_hash(u) % 100 < 25)
    gain, lose = cohort_diff({"enabled": True}, {"enabled": True, "environments": ["staging"]}, users, "production")
    assert (gain, lose) == (0, 5000)
    salted = {"percentage": 10, "bucketing": "flag-salted"}
    gain, lose = cohort_diff(before, salted, users, None, name="f")
    assert gain > 0 and lose > 0  # re-salting moves users both ways


def test_vectorised_hash_equals_scalar_hash_on_a_sample() -> None:
    for prefix, start, stop in [("user-", 0, 3000), ("user-", 999_000, 1_000_100), ("", 0, 500), ("😀:u", 95, 105)]:
        got = hash_numbered_ids(prefix, start, stop)
        assert got.tolist() == [seed_hash(f"{prefix}{i}") for i in range(start, stop)]
    edge = hash_numbered_ids("flag:user-", 10**7 - 500, 10**7 + 500)  # 7 -> 8 digits
    assert edge.tolist() == [seed_hash(f"flag:user-{i}") for i in range(10**7 - 500, 10**7 + 500)]
    rng = np.random.default_rng(7)
    sample = rng.integers(0, 10**6, 2000)
    full = hash_numbered_ids("flag:user-", 0, 10**6)
    assert [int(full[i]) for i in sample] == [seed_hash(f"flag:user-{i}") for i in sample]


def test_bucket_histogram_counts_a_million_ids() -> None:
    hist = bucket_histogram()
    assert len(hist) == 100 and sum(hist) == 1_000_000
    assert min(hist) > 9000 and max(hist) < 11000  # the seed's hash spreads sequential ids evenly
    for kw, fmt in (({}, "user-{}"), ({"name": "f", "bucketing": "flag-salted"}, "f:user-{}")):
        scalar = np.bincount([seed_hash(fmt.format(i)) % 100 for i in range(3000)], minlength=100).tolist()
        assert bucket_histogram(3000, **kw) == scalar

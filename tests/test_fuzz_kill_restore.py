"""Property test: kill then restore gives back the stored flag byte for byte, duplicate keys, nulls and odd
spacing included (the seed's service would serve the same flag again)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from app.control.flag_edits import kill, restore
from tests.fuzz_strategies import FUZZ, JSON_VALUES

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
    killed = kill(text, "checkout", at=1_700_000_000.0, by="ops@host", reason="incident")
    if killed.problem:  # e.g. a `killed` member that is not an earlier kill's record: refused, nothing to undo
        return
    back = restore(killed.text, "checkout")
    assert not back.problem, back.problem
    assert back.text == text


def test_a_present_null_comes_back_as_null_not_absent() -> None:
    text = '{"enabled": true, "userWhitelist": null, "percentage": 5}'
    back = restore(kill(text, "f", at=0.0, by="a", reason="r").text, "f")
    assert back.text == text


def test_duplicates_keep_every_earlier_occurrence() -> None:
    text = '{"enabled":false, "percentage":10, "enabled":true, "percentage" : 20}'
    killed = kill(text, "f", at=0.0, by="a", reason="r")
    assert killed.text.startswith('{"enabled":false, "percentage":10, "enabled":false, "percentage" : 0')
    assert restore(killed.text, "f").text == text

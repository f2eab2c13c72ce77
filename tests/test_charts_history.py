"""app/history.py: the whole life of a rollout in bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.history import History, Mark, Marks


def test_values_in_one_bucket_are_averaged_and_missing_ones_counted() -> None:
    h = History(bucket=10, limit=10)
    for t, v in ((0, 1.0), (3, 3.0), (9, None), (10, 5.0)):
        h.add(t, v)
    assert h.points() == [(5.0, 2.0), (15.0, 5.0)]
    assert h.buckets[0].missing == 1 and h.buckets[0].low == 1.0 and h.buckets[0].high == 3.0


def test_a_long_life_is_kept_whole_in_coarser_buckets() -> None:
    h = History(bucket=5, limit=100)
    for t in range(0, 10 * 24 * 3600, 5):  # ten days sampled every 5 s
        h.add(float(t), 1.0 if t < 5 * 24 * 3600 else 2.0)
    assert len(h) <= 100
    points = h.points()
    assert h.width == 5 * 2**11  # ~2.8 h buckets: ten days in at most 100 of them
    assert points[0][0] < 3 * 3600 and points[-1][0] > 9.5 * 24 * 3600  # from the first hours to the last
    assert points[0][1] == 1.0 and points[-1][1] == 2.0
    assert sum(b.count for b in h.buckets) == 10 * 24 * 3600 // 5  # nothing lost, only merged


@given(
    st.lists(st.tuples(st.floats(0, 1e6), st.one_of(st.none(), st.floats(-1e6, 1e6))), max_size=400), st.integers(2, 50)
)
def test_bounded_and_nothing_lost(samples: list[tuple[float, float | None]], limit: int) -> None:
    h = History(bucket=1.0, limit=limit)
    for t, v in sorted(samples, key=lambda s: s[0]):
        h.add(t, v)
    assert len(h) <= limit
    assert sum(b.count + b.missing for b in h.buckets) == len(samples)
    starts = [b.start for b in h.buckets]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_bad_arguments_and_marks() -> None:
    with pytest.raises(ValueError):
        History(bucket=0)
    marks = Marks(limit=2)
    for m in (Mark(1, "step"), Mark(1, "step"), Mark(2, "check-failed"), Mark(3, "rollback")):
        marks.add(m)
    assert [m.kind for m in marks] == ["check-failed", "rollback"]

"""The cluster-reads bench runs, and its figures say what the engine promises."""

from __future__ import annotations

from bench.cluster_reads import measure, report, summary


def test_cluster_reads_bench_counts_no_reads_when_watched() -> None:
    m = measure(targets=3, seconds=15)
    assert m["watched_reads"] == 0 and m["polled_reads"] == 3 * 3 * m["passes"]
    assert set(m["watched"]) <= {"acquire_lease"}
    assert m["watched_calls"] < m["polled_calls"]
    assert report(m) and "0 reads" in summary(m)

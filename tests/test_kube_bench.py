"""bench/kube_requests.py works on a few targets (no timing is asserted)."""

from __future__ import annotations

from bench.kube_requests import report, run


def test_kube_requests_bench_counts_requests_and_writes() -> None:
    r = run(targets=3, passes=2)
    assert r["polling_per_pass"] == 3 * 3  # the baseline: 3 GETs per canary per pass
    assert r["watch_requests"] == 0  # nothing is asked of the API server while nothing changes
    assert all(v >= 1 for v in r["step_writes"].values())  # reported as measured (see the bench's docstring)
    assert any("ratio watched / polling" in line for line in report(r, 3))

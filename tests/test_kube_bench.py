"""bench/kube_requests.py works on a few targets (no timing is asserted)."""

from __future__ import annotations

from bench.kube_requests import report, run


def test_kube_requests_bench_counts_requests_and_writes() -> None:
    r = run(targets=3, passes=2)
    assert r["polling_per_pass"] == 3 * 3  # the baseline: 3 GETs per canary per pass
    assert r["watch_requests"] == 0  # nothing is asked of the API server while nothing changes
    # one write per object the decision changed: the route's weights and the state annotation
    assert r["step_writes"]["PATCH virtualservices"] == 1 and r["step_writes"]["PATCH deployments"] == 1
    assert any("ratio watched / polling" in line for line in report(r, 3))

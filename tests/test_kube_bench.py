"""bench/kube_requests.py works on a few targets (no timing is asserted)."""

from __future__ import annotations

from bench.kube_requests import report, run, summary


def test_kube_requests_bench_counts_requests_and_writes() -> None:
    r = run(targets=3, passes=2)
    assert r["polling_per_pass"] == 3 * 3  # the baseline: 3 GETs per canary per pass
    assert r["old_engine_per_pass"] == 3 * 5  # ... and a Lease GET + PUT per canary per pass
    assert r["idle_per_pass"] == 0  # idle targets: no reads and no Lease held, so no request at all
    assert r["driving_reads_per_pass"] == 0  # driving, between ticks: the watched engine reads nothing
    assert r["other"] == []  # and sends nothing but Lease renewals
    assert r["driving_renewals_per_pass"] <= 3  # at most one PUT per target per pass, none most passes
    assert r["take"] == [("PUT", 200)]  # an idle canary's Lease taken with one PUT before its first write
    # one write per object the decision changed: the route's weights, the state annotation, the Event
    assert r["step_writes"] == {"PATCH virtualservices": 1, "PATCH deployments": 1, "POST events": 1}
    assert set(r["step_objects"].values()) == {1}
    lines = report(r)
    assert any("ratio watched / polling" in line for line in lines) and "one per object changed" in lines[-1]
    assert "3 canaries" in summary(r)

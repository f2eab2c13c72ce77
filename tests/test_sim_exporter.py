"""The Prometheus exporter: Istio's names and labels, counters equal to the world's."""

from __future__ import annotations

import threading
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.clock import VirtualClock
from backends.sim import build_world
from backends.sim.exporter import start_exporter
from backends.sim.traffic import BUCKETS_MS


def _scrape(url: str) -> dict:
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


@pytest.fixture
def world():
    clock = VirtualClock()
    w = build_world("bad-canary", clock)
    w.scale("microservices", "microservices", 3)
    w.tick(clock.now() + 40)
    w.set_weights("microservices", "microservices-canary", {"microservices-primary": 60, "microservices": 40})
    w.tick(clock.now() + 90)  # weight 40 >= 30: the canary answers some 500s
    return w


def test_exporter_counters_equal_the_world(world) -> None:
    exporter = start_exporter(world)
    try:
        assert exporter.url == f"http://127.0.0.1:{exporter.port}/metrics" and exporter.port > 0
        families = _scrape(exporter.url)
    finally:
        exporter.close()
    totals = world.traffic.recorder.totals()
    requests = families["istio_requests"]  # the parser drops the _total suffix of counters
    got = {}
    for s in requests.samples:
        if s.name != "istio_requests_total":
            continue
        lab = s.labels
        assert lab["reporter"] == "destination"
        key = (lab["destination_workload_namespace"], lab["destination_workload"], lab["destination_service_name"])
        got[(key, int(lab["response_code"]))] = s.value
    want = {(key, code): n for key, agg in totals.items() for code, n in agg.codes.items()}
    assert got == want
    assert any(code == 500 for (_, code) in want)  # the bad canary shows up in the export

    duration = families["istio_request_duration_milliseconds"]
    for key, agg in totals.items():
        for code in agg.codes:
            labels = {
                "destination_workload_namespace": key[0],
                "destination_workload": key[1],
                "destination_service_name": key[2],
                "response_code": str(code),
                "reporter": "destination",
            }
            mine = [s for s in duration.samples if all(s.labels.get(k) == v for k, v in labels.items())]
            buckets = {float(s.labels["le"]): s.value for s in mine if s.name.endswith("_bucket")}
            assert sorted(buckets) == list(BUCKETS_MS)
            assert buckets[float("inf")] == agg.codes[code]
            cumulative = 0
            for le, n in zip(BUCKETS_MS, agg.hist[code], strict=True):
                cumulative += n
                assert buckets[le] == cumulative
            count = next(s.value for s in mine if s.name.endswith("_count"))
            total = next(s.value for s in mine if s.name.endswith("_sum"))
            assert count == agg.codes[code] and total == pytest.approx(agg.sums[code])


def test_exporter_is_safe_while_the_world_ticks(world) -> None:
    exporter = start_exporter(world)
    stop = threading.Event()
    errors: list[Exception] = []

    def scrape_loop() -> None:
        last = 0.0
        while not stop.is_set():
            try:
                fam = _scrape(exporter.url)["istio_requests"]
                total = sum(s.value for s in fam.samples if s.name == "istio_requests_total")
                assert total >= last  # counters never go backwards
                last = total
            except Exception as exc:
                errors.append(exc)
                return

    thread = threading.Thread(target=scrape_loop)
    thread.start()
    try:
        for _ in range(300):
            world.tick(world.now + 1)
    finally:
        stop.set()
        thread.join(10)
        exporter.close()
    assert not errors

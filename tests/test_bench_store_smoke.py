"""The store and Prometheus benches' pure parts work (fast; no timing is asserted)."""

from __future__ import annotations

import httpx
import pytest

from app.model import MetricCheck, SampleStatus
from backends.prometheus import PrometheusMetrics
from backends.redis import RedisStore
from backends.sim.scenario import parse_scenario
from bench.flag_eval import CONFIG, in_process, per_request, users
from bench.prometheus_batch import CountingTransport, scenario_yaml
from bench.redis_results import (
    EXPERIMENT,
    agreement,
    load_seed_data,
    track_live,
    user_id,
)
from tests.seed_ab import SeedABTestManager
from tests.servers.redis import RedisServer


async def test_counting_transport_counts_every_request_once() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [
                        {
                            "metric": {"destination_workload_namespace": "bench", "destination_workload": "svc-00"},
                            "value": [0, "99.5"],
                        }
                    ],
                },
            },
        )

    transport = CountingTransport(httpx.MockTransport(answer))
    metrics = PrometheusMetrics("http://prom.invalid:9090", transport=transport, retries=0)
    check = MetricCheck(name="request-success-rate", min=99, interval="30s")
    workloads = [("bench", "svc-00"), ("bench", "svc-01"), ("bench", "svc-02")]
    try:
        got = await metrics.query(check, workloads)  # built-in template: one batched query
        assert transport.count == 1 and transport.paths == ["/api/v1/query"]
        assert got[workloads[0]].value == 99.5 and got[workloads[1]].status is SampleStatus.NO_DATA
        for w in workloads:  # the per-target baseline: one request each
            await metrics.query(check, [w])
        assert transport.count == 1 + len(workloads)
    finally:
        await metrics.aclose()


def test_the_prometheus_bench_scenario_has_the_canaries_it_says() -> None:
    scenario = parse_scenario(scenario_yaml(4), "<test>")
    assert [t.name for t in scenario.targets] == ["svc-00", "svc-01", "svc-02", "svc-03"]
    assert all(len(t.analysis.metrics) == 3 and t.deployment == t.name for t in scenario.targets)


@pytest.mark.integration
async def test_seed_results_and_counters_agree_on_a_tiny_data_set(redis_server: RedisServer) -> None:
    client = redis_server.client()
    try:
        events = load_seed_data(client, "exp", EXPERIMENT, range(0, 150), chunk=40)
        store = RedisStore(redis_server.url)
        try:
            await store.rebuild_counters("exp")
            events += await track_live(store, "exp", range(150, 200))
            counters = await store.experiment_results("exp")
        finally:
            await store.aclose()
        seed = SeedABTestManager(redis_server.url).get_experiment_results("exp")
        variants = seed["variants"]
        assert set(variants) == {"control", "variant_a"}
        assert sum(v["assignments"] for v in variants.values()) == 200
        assert sum(v["assignments"] + v["conversions"] for v in variants.values()) == events
        assert 0 < sum(v["conversions"] for v in variants.values()) < 60  # about 10 %
        ok, text = agreement(seed, counters)
        assert ok, text
        # a counter that drifts from the events is reported, not hidden
        client.hincrby("shiftroom:exp:exp:counters", "users:control", 1)
        store = RedisStore(redis_server.url)
        try:
            drifted = await store.experiment_results("exp")
        finally:
            await store.aclose()
        assert agreement(seed, drifted)[0] is False
        assert client.exists(f"assignment:exp:{user_id(0)}") == 1
    finally:
        client.close()


@pytest.mark.integration
def test_flag_eval_takes_the_same_decisions_both_ways(redis_server: RedisServer) -> None:
    import json

    client = redis_server.client()
    try:
        client.set("feature:f", json.dumps(CONFIG))
        ids = users(300) + ["qa@example.com"]
        _, local = in_process(CONFIG, ids, "production")
        _, remote = per_request(client, "f", ids, "production")
        assert local == remote and 0 < local < len(ids)
        assert in_process(CONFIG, ids, "development")[1] == 0  # environments rule first
    finally:
        client.close()

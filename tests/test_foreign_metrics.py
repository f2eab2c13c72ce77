"""The seed Canary's own metric checks, run by the room's Prometheus backend against a real Prometheus:
the numbers Flagger is judging, with Flagger's ranges, for the Canary's target workload.

A small exporter serves Istio's request counter and latency histogram for the canary workload
`microservices/microservices` (2% of requests fail, every request takes 120 ms); Prometheus scrapes
it every second.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from app.control.foreign import ForeignRollouts
from backends.base import ForeignObject
from backends.prometheus import PrometheusMetrics
from backends.promql import MetricTemplate
from tests.servers.prometheus import require_prometheus, start_prometheus

pytestmark = pytest.mark.integration
DATA = Path(__file__).parent / "foreign_data"
LABELS = {
    "reporter": "destination",
    "destination_workload_namespace": "microservices",
    "destination_workload": "microservices",
}


def serve_traffic(stop: threading.Event) -> tuple[int, Any]:
    registry = CollectorRegistry()
    requests = Counter("istio_requests", "requests", [*LABELS, "response_code"], registry=registry)
    latency = Histogram(
        "istio_request_duration_milliseconds",
        "latency",
        list(LABELS),
        registry=registry,
        buckets=(50, 100, 150, 250, 500, 1000),
    )
    http, _ = start_http_server(0, addr="127.0.0.1", registry=registry)  # a port the OS chose, listening already
    port = http.server_address[1]

    def run() -> None:
        while not stop.wait(0.05):
            requests.labels(**LABELS, response_code="200").inc(49)
            requests.labels(**LABELS, response_code="503").inc(1)
            for _ in range(5):
                latency.labels(**LABELS).observe(120)

    threading.Thread(target=run, daemon=True).start()
    return port, http


def objects() -> list[ForeignObject]:
    canary: dict[str, Any] = yaml.safe_load((DATA / "canary.yaml").read_text())
    canary["spec"]["analysis"]["metrics"].append(
        {"name": "p95", "templateRef": {"name": "latency-p95"}, "thresholdRange": {"max": 100}, "interval": "30s"}
    )
    template = {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "MetricTemplate",
        "metadata": {"name": "latency-p95", "namespace": "microservices"},
        "spec": {
            "provider": {"type": "prometheus", "address": "http://prometheus.istio-system:9090"},
            "query": "histogram_quantile(0.95, sum(rate(istio_request_duration_milliseconds_bucket{"
            'destination_workload_namespace="{{ namespace }}",'
            'destination_workload="{{ target }}"}[{{ interval }}])) by (le))',
        },
    }
    return [
        ForeignObject(
            api_version="flagger.app/v1beta1",
            kind="Canary",
            name="microservices-canary",
            namespace="microservices",
            body=canary,
        ),
        ForeignObject(
            api_version="flagger.app/v1beta1",
            kind="MetricTemplate",
            name="latency-p95",
            namespace="microservices",
            body=copy.deepcopy(template),
        ),
    ]


def test_the_canarys_checks_read_the_numbers_flagger_judges(tmp_path: Path) -> None:
    require_prometheus()
    stop = threading.Event()
    port, http = serve_traffic(stop)
    server = start_prometheus(tmp_path, [f"http://127.0.0.1:{port}/metrics"])
    try:
        server.wait_for("count(istio_requests_total)", 2, timeout=30)
        server.wait_for("min(count_over_time(istio_requests_total[1m]))", 4, timeout=30)
        room = ForeignRollouts(now=lambda: 0.0)
        objs = objects()
        templates = {k: MetricTemplate(name=k, query=q, source=k) for k, q in room.queries(objs).items()}
        metrics = PrometheusMetrics(server.url, templates=templates)
        values: dict[str, tuple[float | None, bool, str]] = {}

        async def measure() -> None:
            for _key, workload, c in room.metric_checks(objs):
                sample = (await metrics.query(c.check, [workload]))[workload]
                values[c.check.name] = (sample.value, c.check.passes(sample.value), c.source)
            await metrics.aclose()

        asyncio.run(measure())
    finally:
        stop.set()
        http.shutdown()
        server.close()
    rate, rate_ok, _ = values["request-success-rate"]
    assert rate is not None and 97.5 < rate < 98.5 and not rate_ok  # below the seed's min 99: a failed check
    duration, duration_ok, _ = values["request-duration"]
    assert duration is not None and 100 < duration <= 150 and not duration_ok  # p99 in ms against max 0.5
    error, _, source = values["error-rate"]
    assert error is not None and 1.5 < error < 2.5 and source == "skipped"  # shown; Flagger does not judge it
    p95, p95_ok, source = values["p95"]
    assert p95 is not None and 100 < p95 <= 150 and source == "template" and not p95_ok

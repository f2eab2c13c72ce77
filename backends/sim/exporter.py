"""Serve the simulated mesh's traffic as Prometheus metrics, with Istio's names and labels.

    exporter = start_exporter(world)          # loopback, a free port
    # scrape exporter.url, e.g. from a real Prometheus
    exporter.close()

Series (reporter="destination", as Istio's sidecar on the receiving side reports them):

- `istio_requests_total{destination_workload, destination_workload_namespace,
  destination_service_name, response_code}`
- `istio_request_duration_milliseconds_bucket/_sum/_count` with the same labels
  plus `le` (Istio's default buckets, in milliseconds)

Each scrape reads a consistent copy of the world's cumulative counters, taken
under the recorder's lock, so it is safe while the world ticks in another thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from backends.sim.traffic import BUCKETS_MS

if TYPE_CHECKING:
    from backends.sim.world import SimWorld

LABELS = ["reporter", "destination_workload", "destination_workload_namespace", "destination_service_name"]


def _le(bound: float) -> str:
    if bound == float("inf"):
        return "+Inf"
    return str(int(bound)) if float(bound).is_integer() else str(bound)


class IstioCollector:
    """A prometheus_client collector over a world's `TrafficRecorder`."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world

    def collect(self) -> Iterator[Metric]:
        totals = self.world.traffic.recorder.totals()
        requests = CounterMetricFamily(
            "istio_requests_total",
            "Requests served, by destination workload and response code.",
            labels=[*LABELS, "response_code"],
        )
        duration = HistogramMetricFamily(
            "istio_request_duration_milliseconds",
            "Request duration in milliseconds.",
            labels=[*LABELS, "response_code"],
        )
        for (ns, workload, service), agg in sorted(totals.items()):
            base = ["destination", workload, ns, service]
            for code, n in sorted(agg.codes.items()):
                labels = [*base, str(code)]
                requests.add_metric(labels, n)
                cumulative, buckets = 0, []
                for bound, k in zip(BUCKETS_MS, agg.hist[code], strict=True):
                    cumulative += k
                    buckets.append((_le(bound), cumulative))
                duration.add_metric(labels, buckets, agg.sums[code])
        yield requests
        yield duration


@dataclass
class Exporter:
    host: str
    port: int
    _server: object
    _thread: object

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()  # type: ignore[attr-defined]
        self._server.server_close()  # type: ignore[attr-defined]
        self._thread.join(timeout=5)  # type: ignore[attr-defined]


def registry_for(world: SimWorld) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IstioCollector(world))
    return registry


def start_exporter(world: SimWorld, host: str = "127.0.0.1", port: int = 0) -> Exporter:
    """Serve `world`'s traffic on http://host:port/metrics (port 0: any free port) in a daemon thread."""
    server, thread = start_http_server(port, addr=host, registry=registry_for(world))
    return Exporter(host, server.server_address[1], server, thread)

"""PrometheusMetrics against a real Prometheus scraping the simulator's Istio exporter.

The world runs on a ScaledClock (10x) in a thread, so its cumulative counters
grow in real time while Prometheus scrapes them every second; a "60s" check
window is 6 real seconds of scrapes. The canary behaves very differently from
the primary, so a query that mixed the two would be visibly wrong.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import httpx
import pytest

from app.clock import ScaledClock
from app.model import MetricCheck, SampleStatus
from backends.base import Unavailable
from backends.prometheus import PrometheusMetrics, RangeCursor
from backends.promql import MetricTemplate
from backends.sim import Scenario, build_world
from backends.sim.behaviour import Behaviour
from backends.sim.metrics import value_of
from backends.sim.world import SimWorld
from tests.servers.prometheus import (
    PromServer,
    free_port,
    require_prometheus,
    scraping,
)

# one worker runs the whole module under `make test` (--dist loadgroup): one Prometheus, started once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("prometheus-integration")]

NS = "microservices"
CANARY, PRIMARY, BLUE = (NS, "microservices"), (NS, "microservices-primary"), (NS, "microservices-blue")
GHOST = ("nowhere", "ghost")
EVIL = (NS, 'x"} or vector(1) #')
BAD_IMAGE = "microservices/api:2.0.0"
SPEED = 10.0


@dataclass
class Env:
    world: SimWorld
    clock: ScaledClock
    prom: PromServer
    lock: threading.Lock

    async def reference(self, check: MetricCheck, targets):
        """The world's own numbers for the same window (ticking is paused meanwhile)."""
        with self.lock:
            return await self.world.metrics.query(check, targets)

    def mix(self, name: str, seconds: float) -> float:
        """What a query over both of the target's workloads (the seed's mistake) would say."""
        with self.lock:
            end = self.world.now
            agg = self.world.traffic.recorder.window(NS, CANARY[1], end - seconds, end)
            agg.merge(self.world.traffic.recorder.window(NS, PRIMARY[1], end - seconds, end))
        value = value_of(name, agg)
        assert value is not None
        return value


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    require_prometheus()
    clock = ScaledClock(speed=SPEED)
    scenario = Scenario(
        name="t-split",
        rps={"microservices-canary": 300},
        behaviour={BAD_IMAGE: Behaviour(success_rate=80, p50_ms=40, p99_ms=2000, ready_after=0)},
    )
    world = build_world(scenario, clock)
    world.set_image(NS, CANARY[1], "app", BAD_IMAGE)
    world.scale(NS, CANARY[1], 3)
    world.set_weights(NS, "microservices-canary", {PRIMARY[1]: 80, CANARY[1]: 20})
    with scraping(world, clock, tmp_path_factory.mktemp("prom")) as (prom, lock):
        # a "60s" window is 6 real seconds: wait for 7 scrapes of the canary's series
        prom.wait_for(
            'count_over_time(istio_requests_total{destination_workload="microservices",response_code="200"}[1m])',
            7,
            timeout=30,
        )
        yield Env(world, clock, prom, lock)


class Counting(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def one_sentence(text: str) -> bool:
    return text.endswith(".") and ". " not in text and "\n" not in text and "Prometheus" in text


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "name, tolerance",
    [
        ("request-success-rate", 3.0),
        ("error-rate", 3.0),
        ("request-duration", 0.2),
    ],
)
async def test_builtins_measure_the_canary_itself_not_the_mix(env: Env, name: str, tolerance: float) -> None:
    check = MetricCheck(name=name, interval="60s")
    async with PrometheusMetrics(env.prom.url, clock=env.clock) as m:
        got = (await m.query(check, [CANARY]))[CANARY]
    want = (await env.reference(check, [CANARY]))[CANARY]
    mix = env.mix(name, 60)
    assert got.status is SampleStatus.OK and want.ok, (got, want)
    assert "istio_" in got.query and 'destination_workload="microservices"' in got.query
    if name == "request-duration":
        assert got.value == pytest.approx(want.value, rel=tolerance)
        assert got.value > 1.5 * mix  # the mix's p99 is the canary's p95 or so
    else:
        assert got.value == pytest.approx(want.value, abs=tolerance)
        assert abs(got.value - mix) > 3 * tolerance


async def test_one_request_answers_every_target(env: Env) -> None:
    transport = Counting()
    targets = [CANARY, PRIMARY, BLUE, GHOST, EVIL]
    async with PrometheusMetrics(env.prom.url, clock=env.clock, transport=transport) as m:
        for name in ("request-success-rate", "request-duration", "error-rate"):
            before = len(transport.requests)
            check = MetricCheck(name=name, interval="60s")
            got = await m.query(check, targets)
            assert len(transport.requests) == before + 1, f"{name}: one HTTP request for {len(targets)} targets"
            want = await env.reference(check, [CANARY, PRIMARY, BLUE])
            for w in (CANARY, PRIMARY, BLUE):
                assert got[w].ok, got[w]
                assert got[w].value == pytest.approx(want[w].value, rel=0.25, abs=3.0)
            for w in (GHOST, EVIL):  # the evil name matched nothing; it did not become `vector(1)`
                assert got[w].status is SampleStatus.NO_DATA and one_sentence(got[w].error), got[w]


async def test_user_and_flagger_templates_batch_by_joining(env: Env) -> None:
    flagger = MetricTemplate.from_flagger(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "MetricTemplate",
            "metadata": {"name": "errors", "namespace": "istio-system"},
            "spec": {
                "provider": {"type": "prometheus", "address": env.prom.url},
                "query": (
                    'sum(rate(istio_requests_total{reporter="destination",'
                    'destination_workload_namespace="{{ namespace }}",'
                    'destination_workload=~"{{ target }}",response_code=~"5.*"}[{{ interval }}]))'
                ),
            },
        }
    )
    transport = Counting()
    async with PrometheusMetrics(
        env.prom.url, clock=env.clock, transport=transport, templates={"errors": flagger}
    ) as m:
        got = await m.query(MetricCheck(name="errors/s", template="errors", interval="60s"), [CANARY, PRIMARY, EVIL])
    assert len(transport.requests) == 1
    # 300 rps, 20% of it to the canary, 20% of that failing: about 12 errors per clock second, i.e. 120 per real one
    assert got[CANARY].value == pytest.approx(0.2 * 0.2 * 300 * SPEED, rel=0.3)
    assert got[PRIMARY].value < 0.05 * got[CANARY].value
    assert got[EVIL].status is SampleStatus.NO_DATA
    assert got[CANARY].query.startswith('sum(rate(istio_requests_total{reporter="destination"')


async def test_history_and_incremental_cursor(env: Env) -> None:
    check = MetricCheck(name="error-rate", interval="30s")
    transport = Counting()
    async with PrometheusMetrics(env.prom.url, clock=env.clock, transport=transport) as m:
        now = env.clock.now()
        pts = await m.history(check, CANARY, now - 40, now - 10, 5)
        assert len(pts) == 7 and pts[0][0] == pytest.approx(now - 40)
        assert all(v is not None and 10 < v < 30 for _, v in pts), pts
        cursor = RangeCursor(m, check, CANARY, step=5, span=30, lag=10)
        first = await cursor.poll()
        assert len(first) == 7
        deadline = time.monotonic() + 5
        second: list = []
        while not second and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            second = await cursor.poll()
        assert second and second[0][0] == pytest.approx(first[-1][0] + 5)
        assert len(transport.requests) >= 3
        last = transport.requests[-1].url.params
        assert float(last["start"]) > float(transport.requests[-2].url.params["start"])


# ---------------------------------------------------------------- errors as values


async def test_promql_error_and_ping(env: Env) -> None:
    broken = MetricTemplate(
        name="broken", query='sum(rate(istio_requests_total{destination_workload="{{ target }}"}[{{ interval }}])'
    )
    async with PrometheusMetrics(env.prom.url, templates={"broken": broken}) as m:
        await m.ping()
        s = (await m.query(MetricCheck(name="broken"), [CANARY]))[CANARY]
    assert s.status is SampleStatus.ERROR and "bad_data" in s.error and env.prom.url in s.error
    assert one_sentence(s.error) and s.query.startswith("sum(rate(istio_requests_total")


async def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with PrometheusMetrics(url, retries=1, backoff=0.01) as m:
        s = (await m.query(MetricCheck(name="error-rate"), [CANARY]))[CANARY]
        with pytest.raises(Unavailable) as err:
            await m.ping()
    assert s.status is SampleStatus.ERROR and "refused the connection" in s.error and url in s.error
    assert one_sentence(s.error) and one_sentence(str(err.value)) and "istio_requests_total" in s.query


async def _server(answer: bytes | None):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if answer is None:
            await asyncio.sleep(30)  # never answers
        else:
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_timeout_is_retried_then_an_error_sample() -> None:
    server, url = await _server(None)
    transport = Counting()
    try:
        async with PrometheusMetrics(url, timeout=0.3, retries=1, backoff=0.05, transport=transport) as m:
            t0 = time.monotonic()
            s = (await m.query(MetricCheck(name="request-duration"), [CANARY]))[CANARY]
            took = time.monotonic() - t0
    finally:
        server.close()
    assert s.status is SampleStatus.ERROR and "did not answer within 0.3 s" in s.error and one_sentence(s.error)
    assert len(transport.requests) == 2 and 0.6 <= took < 3


async def test_http_500_is_an_error_sample_and_not_retried() -> None:
    server, url = await _server(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops"
    )
    transport = Counting()
    try:
        async with PrometheusMetrics(url, retries=2, transport=transport) as m:
            s = await m.query(MetricCheck(name="error-rate"), [CANARY, PRIMARY])
    finally:
        server.close()
    assert len(transport.requests) == 1
    for sample in s.values():
        assert sample.status is SampleStatus.ERROR and "HTTP 500" in sample.error and one_sentence(sample.error)


def test_server_handle_restarts_on_the_same_port_and_data(prometheus_factory) -> None:
    server = prometheus_factory([])
    url, data = server.url, server.data
    assert server.query("vector(7)")[0]["value"][1] == "7"
    server.stop()
    assert not server.running and server.query("vector(7)") == []
    server.start()
    assert server.url == url and server.data == data and server.running
    assert server.query("vector(7)")[0]["value"][1] == "7"


async def test_tls_with_a_custom_ca_and_a_bearer_token(tmp_path) -> None:
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not on PATH, so no test certificate can be made.")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    seen: list[bytes] = []
    body = (
        b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{"destination_workload_namespace":'
        b'"microservices","destination_workload":"microservices"},"value":[1,"0.5"]}]}}'
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            seen.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    check = MetricCheck(name="error-rate")
    try:
        async with PrometheusMetrics(url, retries=2, backoff=0.01) as m:
            untrusted = (await m.query(check, [CANARY]))[CANARY]
        requests_before_trust = len(seen)
        async with PrometheusMetrics(url, ca_file=str(cert), auth="s3cret") as m:
            trusted = (await m.query(check, [CANARY]))[CANARY]
    finally:
        server.close()
    assert untrusted.status is SampleStatus.ERROR and "TLS handshake" in untrusted.error
    assert "self-signed certificate" in untrusted.error and one_sentence(untrusted.error), untrusted.error
    assert requests_before_trust == 0, "nothing is sent to a server whose certificate is not trusted"
    assert trusted.ok and trusted.value == 0.5
    assert b"authorization: Bearer s3cret" in seen[0].replace(b"Authorization", b"authorization")
    with pytest.raises(Exception, match="cannot be used"):
        PrometheusMetrics(url, ca_file=str(tmp_path / "missing.pem"))

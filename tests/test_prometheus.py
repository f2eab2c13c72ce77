"""PrometheusMetrics without a server: templates, escaping, batching, error values, retries, auth."""

from __future__ import annotations

import math
import re

import httpx
import pytest

from app.clock import ScaledClock
from app.model import MetricCheck, SampleStatus
from backends.base import Invalid, Unavailable
from backends.prometheus import PrometheusMetrics, RangeCursor
from backends.promql import (
    MetricTemplate,
    TemplateError,
    alternation,
    builtin_templates,
    escape_regex,
    escape_string,
    format_duration,
    joined_query,
    parse_duration,
    render,
)

URL = "http://prom.test:9090"
EVIL = 'x"} or vector(1) #'
FLAGGER = """
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: not-found-percentage
  namespace: istio-system
spec:
  provider:
    type: prometheus
    address: http://prometheus.istio-system:9090
  query: |
    100 - sum(
        rate(
            istio_requests_total{
              reporter="destination",
              destination_workload_namespace="{{ namespace }}",
              destination_workload=~"{{ target }}",
              response_code!="404"
            }[{{ interval }}]
        )
    )
    /
    sum(
        rate(
            istio_requests_total{
              reporter="destination",
              destination_workload_namespace="{{ namespace }}",
              destination_workload=~"{{ target }}"
            }[{{ interval }}]
        )
    ) * 100
"""


def vector(*series: tuple[dict, str]) -> dict:
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": m, "value": [1.0, v]} for m, v in series]},
    }


class Recorder:
    """A MockTransport handler that answers from a list and keeps every request."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    def queries(self) -> list[str]:
        out = []
        for r in self.requests:
            params = dict(httpx.QueryParams(r.content.decode())) if r.method == "POST" else dict(r.url.params)
            out.append(params.get("query", ""))
        return out


def metrics(handler, **kw) -> PrometheusMetrics:
    kw.setdefault("backoff", 0.001)
    return PrometheusMetrics(URL, transport=httpx.MockTransport(handler), **kw)


def one_sentence(text: str) -> bool:
    return bool(text) and text.endswith(".") and text.count(". ") == 0 and "\n" not in text


# ---------------------------------------------------------------- escaping and rendering


def test_escaping_string_and_regex() -> None:
    assert escape_string('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    assert escape_regex("api.v1+(x)|y$") == r"api\.v1\+\(x\)\|y\$"
    assert alternation(["a.b", "c", "a.b"]) == r"a\.b|c"
    assert re.fullmatch(escape_regex(EVIL), EVIL)


def test_placeholders_are_escaped_for_the_literal_they_land_in() -> None:
    text = 'm{a="{{ namespace }}", b=~"{{ target }}", c=\'{{ target }}\'}[{{ interval }}]'
    out = render(text, {"namespace": 'n"s', "target": "a.b", "interval": "1m"})
    assert out == 'm{a="n\\"s", b=~"a\\\\.b", c=\'a.b\'}[1m]'
    with pytest.raises(TemplateError, match="inside a quoted label value"):
        render("sum(m) by ({{ target }})", {"target": "a"})
    with pytest.raises(TemplateError, match="unknown placeholder"):
        render('m{a="{{ variables.x }}"}', {"target": "a"})
    with pytest.raises(TemplateError, match="inside a quoted label value"):
        render('m{a="x"} # {{ target }}', {"target": "a\nvector(1)"})


@pytest.mark.parametrize("name", sorted(builtin_templates()))
def test_a_target_name_cannot_inject_promql(name: str) -> None:
    tpl = builtin_templates()[name]
    q = tpl.render("prod", EVIL, "1m")
    # the evil name only ever appears escaped inside a label value, so no `or vector(1)` is ever parsed
    assert "or vector(1)" not in q.replace('x\\"} or vector(1) #', "")
    assert q.count('destination_workload="x\\"} or vector(1) #"') == q.count("destination_workload=")
    batch = tpl.render_batch([("prod", EVIL), ("prod", "api")], "1m")
    assert 'destination_workload=~"x\\\\"\\\\} or vector\\\\(1\\\\) #|api"' not in batch  # regex-escaped, then quoted
    assert 'destination_workload=~"x\\"\\\\} or vector\\\\(1\\\\) #|api"' in batch


def test_builtins_are_scoped_to_the_workload_not_the_service() -> None:
    istio = builtin_templates("istio")
    for tpl in istio.values():
        q = tpl.render("microservices", "microservices", "30s")
        assert 'destination_workload_namespace="microservices"' in q
        assert 'destination_workload="microservices"' in q and 'reporter="destination"' in q
        assert "destination_service_name" not in q and "[30s]" in q
    assert "istio_request_duration_milliseconds_bucket" in istio["request-duration"].query
    assert 'response_code=~"5.*"' in istio["error-rate"].query
    assert 'response_code!~"5.*"' in istio["request-success-rate"].query
    nginx = builtin_templates("nginx")
    assert 'ingress="{{ target }}"' in nginx["error-rate"].query and 'status=~"5.*"' in nginx["error-rate"].query
    assert nginx["request-duration"].query.endswith("* 1000")  # seconds to milliseconds
    linkerd = builtin_templates("linkerd")
    assert 'deployment="{{ target }}"' in linkerd["error-rate"].query
    assert 'direction="inbound"' in linkerd["error-rate"].query
    assert 'classification="failure"' in linkerd["error-rate"].query
    with pytest.raises(Invalid, match="provider 'kuma'"):
        builtin_templates("kuma")


def test_durations() -> None:
    assert parse_duration("1m30s") == 90 and parse_duration("500ms") == 0.5 and parse_duration(30) == 30
    assert format_duration(90) == "90s" and format_duration(1.5) == "1500ms"
    with pytest.raises(TemplateError):
        parse_duration("soon")
    m = PrometheusMetrics(URL, clock=ScaledClock(speed=20))
    assert m.window("30s") == "1500ms"
    m.min_window = 4
    assert m.window("30s") == "4s" and m.window("2m") == "6s"


def test_flagger_metric_template_is_accepted_as_is() -> None:
    tpl = MetricTemplate.from_flagger(FLAGGER)
    assert tpl.name == "not-found-percentage" and tpl.source == "flagger:istio-system/not-found-percentage"
    q = tpl.render("shop", "api.v2", "1m")
    assert 'destination_workload=~"api\\\\.v2"' in q and 'destination_workload_namespace="shop"' in q and "[1m]" in q
    with pytest.raises(Invalid, match="provider type 'datadog'"):
        MetricTemplate.from_flagger(
            {
                "apiVersion": "flagger.app/v1beta1",
                "kind": "MetricTemplate",
                "metadata": {"name": "x"},
                "spec": {"provider": {"type": "datadog"}, "query": "1"},
            }
        )
    with pytest.raises(Invalid, match="kind MetricTemplate"):
        MetricTemplate.from_flagger({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    with pytest.raises(Invalid, match="variables.x"):
        MetricTemplate.from_flagger(
            {
                "apiVersion": "flagger.app/v1beta1",
                "kind": "MetricTemplate",
                "metadata": {"name": "x"},
                "spec": {"query": 'm{a="{{ variables.x }}"}'},
            }
        )


def test_joined_query_labels_each_target() -> None:
    tpl = MetricTemplate(name="t", query='sum(m{ns="{{ namespace }}",w="{{ target }}"})')
    q = joined_query(tpl, [("a", "w$1"), ("b", "v")], "1m")
    assert q.count("label_replace(") == 4 and q.count("\n or ") == 1
    assert '"shiftroom_target", "w$$1", "", ""' in q  # `$` would be a group reference


# ---------------------------------------------------------------- batching and splitting


async def test_builtin_query_is_one_request_for_every_target() -> None:
    rec = Recorder(
        vector(
            ({"destination_workload_namespace": "shop", "destination_workload": "api"}, "99.5"),
            ({"destination_workload_namespace": "shop", "destination_workload": "cart"}, "97.25"),
            ({"destination_workload_namespace": "other", "destination_workload": "api"}, "1"),  # not asked for
        )
    )
    m = metrics(rec)
    targets = [("shop", "api"), ("shop", "cart"), ("shop", "web")]
    got = await m.query(MetricCheck(name="request-success-rate", interval="1m"), targets)
    assert len(rec.requests) == 1
    assert 'destination_workload=~"api|cart|web"' in rec.queries()[0]
    assert got[("shop", "api")].value == 99.5 and got[("shop", "cart")].value == 97.25
    web = got[("shop", "web")]
    assert web.status is SampleStatus.NO_DATA and one_sentence(web.error) and URL in web.error
    assert web.query == builtin_templates()["request-success-rate"].render("shop", "web", "60s")


async def test_user_template_is_joined_and_split_by_label() -> None:
    rec = Recorder(
        vector(
            ({"shiftroom_namespace": "shop", "shiftroom_target": "api"}, "3"),
            ({"shiftroom_namespace": "shop", "shiftroom_target": "cart"}, "4"),
        )
    )
    tpl = MetricTemplate(name="queue", query='sum(queue{namespace="{{ namespace }}",app="{{ target }}"})')
    m = metrics(rec, templates={"queue": tpl})
    got = await m.query(MetricCheck(name="depth", template="queue"), [("shop", "api"), ("shop", "cart")])
    assert len(rec.requests) == 1 and " or " in rec.queries()[0]
    assert (got[("shop", "api")].value, got[("shop", "cart")].value) == (3, 4)
    assert got[("shop", "api")].query == 'sum(queue{namespace="shop",app="api"})'


async def test_a_failing_join_falls_back_to_one_query_per_target() -> None:
    bad = httpx.Response(
        400, json={"status": "error", "errorType": "bad_data", "error": "expected type instant vector"}
    )
    rec = Recorder(bad, vector(({}, "1")), bad)
    tpl = MetricTemplate(name="s", query='scalar(m{w="{{ target }}"})')
    m = metrics(rec, templates={"s": tpl})
    got = await m.query(MetricCheck(name="s"), [("n", "a"), ("n", "b")])
    assert len(rec.requests) == 3
    statuses = sorted(s.status.value for s in got.values())
    assert statuses == ["error", "ok"]


async def test_a_template_without_placeholders_serves_every_target() -> None:
    rec = Recorder({"status": "success", "data": {"resultType": "scalar", "result": [1, "42"]}})
    m = metrics(rec, templates={"global": MetricTemplate(name="global", query="scalar(sum(up))")})
    got = await m.query(MetricCheck(name="global"), [("a", "x"), ("b", "y")])
    assert len(rec.requests) == 1 and {s.value for s in got.values()} == {42}


# ---------------------------------------------------------------- errors are values

NW = {"destination_workload_namespace": "n", "destination_workload": "w"}


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (httpx.Response(500, text="boom"), SampleStatus.ERROR, "HTTP 500"),
        (httpx.Response(401), SampleStatus.ERROR, "credentials"),
        (httpx.Response(404), SampleStatus.ERROR, "base URL"),
        (
            httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "parse error:\n bad"}),
            SampleStatus.ERROR,
            "bad_data: parse error: bad",
        ),
        (httpx.Response(200, text="<html>grafana</html>"), SampleStatus.ERROR, "not its HTTP API"),
        (vector(), SampleStatus.NO_DATA, "no data"),
        (vector((NW, "NaN")), SampleStatus.NO_DATA, "NaN"),
        (vector((NW, "+Inf")), SampleStatus.ERROR, "+Inf"),
        (httpx.ConnectError("[Errno 111] Connection refused"), SampleStatus.ERROR, "refused the connection"),
        (httpx.ReadTimeout("timed out"), SampleStatus.ERROR, "did not answer within"),
    ],
)
async def test_failures_come_back_as_samples(answer, status, words) -> None:
    m = metrics(Recorder(answer), retries=1)
    got = await m.query(MetricCheck(name="error-rate"), [("n", "w")])
    s = got[("n", "w")]
    assert s.status is status and s.value is None
    assert words in s.error and URL in s.error and "Prometheus" in s.error and one_sentence(s.error), s.error
    assert "istio_requests_total" in s.query


async def test_unknown_template_and_bad_interval_are_error_samples() -> None:
    m = metrics(Recorder(vector()))
    s = (await m.query(MetricCheck(name="latency-p42"), [("n", "w")]))[("n", "w")]
    assert s.status is SampleStatus.ERROR and "no metric template named 'latency-p42'" in s.error
    assert one_sentence(s.error)
    s = (await m.query(MetricCheck(name="error-rate", interval="soon"), [("n", "w")]))[("n", "w")]
    assert s.status is SampleStatus.ERROR and "'soon' is not a duration" in s.error and one_sentence(s.error)


async def test_retries_transient_failures_only() -> None:
    rec = Recorder(httpx.Response(503), httpx.ConnectError("refused"), vector(({}, "5")))
    m = metrics(rec, retries=2, templates={"g": MetricTemplate(name="g", query="vector(5)")})
    assert (await m.query(MetricCheck(name="g"), [("n", "w")]))[("n", "w")].value == 5
    assert len(rec.requests) == 3
    rec = Recorder(httpx.Response(500))
    m = metrics(rec, retries=2)
    await m.query(MetricCheck(name="error-rate"), [("n", "w")])
    assert len(rec.requests) == 1, "HTTP 500 is not transient"
    rec = Recorder(httpx.Response(502))
    m = metrics(rec, retries=2)
    s = (await m.query(MetricCheck(name="error-rate"), [("n", "w")]))[("n", "w")]
    assert len(rec.requests) == 3 and "HTTP 502" in s.error


async def test_auth_headers_and_credentials_never_shown() -> None:
    rec = Recorder(vector())
    m = PrometheusMetrics("http://u:secret@prom.test", auth=("alice", "pw"), transport=httpx.MockTransport(rec))
    await m.query(MetricCheck(name="error-rate"), [("n", "w")])
    assert rec.requests[0].headers["authorization"].startswith("Basic ")
    assert "secret" not in m.url
    rec = Recorder(vector())
    m = PrometheusMetrics(URL, auth="tok3n", transport=httpx.MockTransport(rec))
    await m.query(MetricCheck(name="error-rate"), [("n", "w")])
    assert rec.requests[0].headers["authorization"] == "Bearer tok3n"


async def test_ping() -> None:
    await metrics(Recorder(httpx.Response(200, text="Prometheus Server is Ready.\n"))).ping()
    with pytest.raises(Unavailable) as err:
        await metrics(Recorder(httpx.ConnectError("[Errno 111] Connection refused")), retries=0).ping()
    assert one_sentence(str(err.value)) and URL in str(err.value)
    rec = Recorder(httpx.Response(404), {"status": "success", "data": {"resultType": "scalar", "result": [1, "1"]}})
    await metrics(rec).ping()
    assert [r.url.path for r in rec.requests] == ["/-/ready", "/api/v1/query"]


async def test_long_batches_are_posted() -> None:
    rec = Recorder(vector())
    targets = [("shop", f"workload-{i:03d}") for i in range(300)]
    await metrics(rec).query(MetricCheck(name="error-rate"), targets)
    assert len(rec.requests) == 1 and rec.requests[0].method == "POST"
    assert "workload-299" in rec.queries()[0]


# ---------------------------------------------------------------- history


def matrix(start: float, step: float, values: list[str]) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": {}, "values": [[start + i * step, v] for i, v in enumerate(values) if v is not None]}
            ],
        },
    }


async def test_history_fills_gaps_and_cursor_fetches_only_new_points() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        p = dict(request.url.params)
        start, end, step = float(p["start"]), float(p["end"]), float(p["step"])
        n = round((end - start) / step) + 1
        values = [None if i == 1 else str(start + i * step) for i in range(n)]
        return httpx.Response(200, json=matrix(start, step, values))

    calls: list[httpx.Request] = []
    m = PrometheusMetrics(URL, transport=httpx.MockTransport(lambda r: (calls.append(r), handler(r))[1]))
    check = MetricCheck(name="request-duration", interval="1m")
    pts = await m.history(check, ("n", "w"), 1000.0, 1040.0, 10.0)
    assert [t for t, _ in pts] == [1000, 1010, 1020, 1030, 1040]
    assert pts[1][1] is None and pts[2][1] == pytest.approx(1020, abs=1)
    cursor = RangeCursor(m, check, ("n", "w"), step=10.0, span=40.0)
    first = await cursor.poll(now=2000.0)
    assert [t for t, _ in first] == [1960, 1970, 1980, 1990, 2000]
    assert await cursor.poll(now=2005.0) == []
    second = await cursor.poll(now=2021.0)
    assert [t for t, _ in second] == [2010, 2020]
    assert float(dict(calls[-1].url.params)["start"]) == pytest.approx(2010, abs=0.01)
    assert [t for t, _ in cursor.points] == [1980, 1990, 2000, 2010, 2020]  # keeps span/step + 1 points
    assert not math.isnan(sum(v for _, v in cursor.points if v is not None))


async def test_history_errors_raise_typed_backend_errors() -> None:
    m = metrics(Recorder(httpx.ConnectError("[Errno 111] Connection refused")), retries=0)
    with pytest.raises(Unavailable):
        await m.history(MetricCheck(name="error-rate"), ("n", "w"), 0, 60, 10)
    m = metrics(Recorder(httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "x"})))
    with pytest.raises(Invalid):
        await m.history(MetricCheck(name="error-rate"), ("n", "w"), 0, 60, 10)


def test_a_missing_prometheus_binary_skips_locally_and_fails_under_ci(monkeypatch) -> None:
    from tests.servers import binaries
    from tests.servers import prometheus as servers

    monkeypatch.setattr(binaries, "find_binary", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="prometheus is not installed"):
        servers.require_prometheus()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        servers.require_prometheus()

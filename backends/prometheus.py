"""`PrometheusMetrics`: the `backends.base.Metrics` protocol over Prometheus' HTTP API.

    metrics = PrometheusMetrics("http://prometheus:9090", provider="istio")
    samples = await metrics.query(check, [("shop", "api"), ("shop", "cart")])

- One HTTP query per metric per call, for every target: built-in templates
  are grouped `by (<namespace label>, <workload label>)`; other templates are
  rendered per target and joined with `or`, each labelled by `label_replace`
  (when that joined query fails, each target is asked on its own so that one
  target's error cannot hide the others' numbers).
- Errors are values: refused, timeout, HTTP errors, PromQL errors, an empty
  vector, NaN or Inf come back as `MetricSample`s with status NO_DATA or
  ERROR and a one-sentence `error` naming Prometheus, its URL and what to do.
  `sample.query` is the PromQL that gives that workload's number on its own
  (what to paste into Prometheus); `last_query` is the one actually sent.
- Transient failures (connect errors, timeouts, 502/503/504) are retried with
  exponential backoff; each attempt has its own timeout.
- Time: check intervals and `history()` times are in the clock's seconds.
  With a clock that runs `speed` times faster than real time (the demo's
  `ScaledClock`), windows and ranges are divided by `speed` to get Prometheus'
  real seconds; `min_window` (real seconds) keeps a window wide enough for
  `rate()` to see two scrapes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from app.clock import Clock
from app.model import MetricCheck, MetricSample, SampleStatus
from backends.base import Invalid, Unavailable
from backends.prometheus_http import Failure, PrometheusHTTP
from backends.promql import (
    NS_LABEL,
    TARGET_LABEL,
    MetricTemplate,
    TemplateError,
    builtin_templates,
    format_duration,
    joined_query,
    parse_duration,
)

Workload = tuple[str, str]
MAX_POINTS = 11000  # Prometheus refuses longer range queries


class PrometheusMetrics(PrometheusHTTP):
    name = "prometheus"
    read_only = True  # it only ever reads

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        auth: tuple[str, str] | str | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        templates: Mapping[str, MetricTemplate] | None = None,
        provider: str = "istio",
        clock: Clock | None = None,
        min_window: float = 0.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            url,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            auth=auth,
            ca_file=ca_file,
            verify=verify,
            transport=transport,
        )
        self.clock = clock
        self.min_window = min_window
        self.provider = provider
        self.templates: dict[str, MetricTemplate] = {**builtin_templates(provider), **(templates or {})}
        self.last_query = ""

    def add_queries(self, queries: Mapping[str, str]) -> None:
        """`MetricTemplates`: queries found at run time (Flagger MetricTemplates), named as the checks name them."""
        for name, query in queries.items():
            old = self.templates.get(name)
            if old is None or old.query != query:
                self.templates[name] = MetricTemplate(name=name, query=query, source=name)

    # ------------------------------------------------------------ time

    def now(self) -> float:
        return self.clock.now() if self.clock is not None else time.time()

    @property
    def speed(self) -> float:
        return float(getattr(self.clock, "speed", 1.0) or 1.0)

    def to_real(self, t: float) -> float:
        """Prometheus' (wall) time of clock time `t`."""
        return time.time() - (self.now() - t) / self.speed

    def window(self, interval: str) -> str:
        """The PromQL range for a check interval given in clock time."""
        return format_duration(max(parse_duration(interval) / self.speed, self.min_window))

    # ------------------------------------------------------------ the protocol

    async def ping(self) -> None:
        try:
            resp = await self._send("/-/ready", {})
            if resp.status_code == 404:  # behind a proxy that only passes the API
                await self._api("/api/v1/query", {"query": "1"})
            elif resp.status_code >= 400:
                raise self._http_failure(resp, "/-/ready")
        except Failure as f:
            raise Unavailable("prometheus", f.sentence) from None

    async def query(self, check: MetricCheck, targets: Sequence[Workload]) -> dict[Workload, MetricSample]:
        targets = list(dict.fromkeys((str(ns), str(wl)) for ns, wl in targets))
        if not targets:
            return {}
        t = self.now()
        name = check.template or check.name
        tpl = self.templates.get(name)
        if tpl is None:
            known = ", ".join(sorted(self.templates))
            return self._all(
                targets,
                t,
                f"Prometheus at {self.url} has no metric template named '{name}' "
                f"(known: {known}); add it to the metric templates.",
                "",
            )
        try:
            window = self.window(check.interval)
            shown = {w: tpl.render(w[0], w[1], window) for w in targets}
            if tpl.batch_query and tpl.group_by:
                sent, labels = tpl.render_batch(targets, window), tpl.group_by
            elif not tpl.per_target:
                sent, labels = tpl.render("", "", window), None
            elif len(targets) == 1:
                sent, labels = shown[targets[0]], None
            else:
                sent, labels = joined_query(tpl, targets, window), (NS_LABEL, TARGET_LABEL)
        except TemplateError as exc:
            return self._all(
                targets,
                t,
                f"The metric template '{name}' for Prometheus at {self.url} cannot be used: {exc}; fix the template.",
                tpl.query,
            )
        self.last_query = sent
        try:
            data = await self._api("/api/v1/query", {"query": sent})
        except Failure as f:
            if labels == (NS_LABEL, TARGET_LABEL) and not f.transient:  # one target may spoil the join
                return await self._one_by_one(targets, shown, check, t)
            return {
                w: MetricSample(t=t, value=None, status=SampleStatus.ERROR, error=f.sentence, query=shown[w])
                for w in targets
            }
        series = self._series(data)
        if isinstance(series, str):
            return self._all(targets, t, series, "", shown)
        return {w: self._pick(w, series, labels, check, t, shown[w]) for w in targets}

    async def _one_by_one(
        self, targets: list[Workload], shown: dict[Workload, str], check: MetricCheck, t: float
    ) -> dict[Workload, MetricSample]:
        async def one(w: Workload) -> MetricSample:
            try:
                series = self._series(await self._api("/api/v1/query", {"query": shown[w]}))
            except Failure as f:
                return MetricSample(t=t, value=None, status=SampleStatus.ERROR, error=f.sentence, query=shown[w])
            if isinstance(series, str):
                return MetricSample(t=t, value=None, status=SampleStatus.ERROR, error=series, query=shown[w])
            return self._pick(w, series, None, check, t, shown[w])

        got = await asyncio.gather(*(one(w) for w in targets))
        return dict(zip(targets, got, strict=True))

    def _all(
        self, targets: list[Workload], t: float, error: str, query: str, shown: dict[Workload, str] | None = None
    ) -> dict[Workload, MetricSample]:
        return {
            w: MetricSample(t=t, value=None, status=SampleStatus.ERROR, error=error, query=(shown or {}).get(w, query))
            for w in targets
        }

    def _series(self, data: Any) -> list[tuple[dict[str, str], str]] | str:
        """(labels, value text) of an instant vector or scalar; a sentence when it is neither."""
        rtype = data.get("resultType") if isinstance(data, dict) else None
        result: Any = data.get("result") if isinstance(data, dict) else None  # JSON: checked by the lookups below
        try:
            if rtype == "vector":
                return [(dict(s.get("metric") or {}), str(s["value"][1])) for s in result]
            if rtype == "scalar":
                return [({}, str(result[1]))]
        except (KeyError, IndexError, TypeError):
            pass
        return (
            f"Prometheus at {self.url} answered with a {rtype or 'malformed'} result where an instant vector "
            f"was expected; make the metric template return one number per workload."
        )

    def _pick(
        self,
        w: Workload,
        series: list[tuple[dict[str, str], str]],
        labels: tuple[str, str] | None,
        check: MetricCheck,
        t: float,
        query: str,
    ) -> MetricSample:
        ns, wl = w
        if labels is not None:
            series = [s for s in series if s[0].get(labels[0]) == ns and s[0].get(labels[1]) == wl]
        where = f"{ns}/{wl}"
        if not series:
            return MetricSample(
                t=t,
                value=None,
                status=SampleStatus.NO_DATA,
                query=query,
                error=(
                    f"Prometheus at {self.url} has no data for {where} over the last {check.interval}; "
                    f"check that it receives traffic and that Prometheus scrapes its metrics."
                ),
            )
        if len(series) > 1:
            return MetricSample(
                t=t,
                value=None,
                status=SampleStatus.ERROR,
                query=query,
                error=(
                    f"Prometheus at {self.url} returned {len(series)} series for {where} "
                    "where one number was expected; aggregate the metric template with sum()."
                ),
            )
        try:
            value = float(series[0][1])
        except ValueError:
            value = math.nan
        if math.isnan(value):
            return MetricSample(
                t=t,
                value=None,
                status=SampleStatus.NO_DATA,
                query=query,
                error=(
                    f"Prometheus at {self.url} returned NaN for {where} (no requests over the last {check.interval}); "
                    f"check that it receives traffic."
                ),
            )
        if math.isinf(value):
            return MetricSample(
                t=t,
                value=None,
                status=SampleStatus.ERROR,
                query=query,
                error=(
                    f"Prometheus at {self.url} returned {'+' if value > 0 else '-'}Inf for {where}, beyond the last "
                    f"histogram bucket; check the workload's latency and the metric template."
                ),
            )
        return MetricSample(t=t, value=value, query=query)

    async def history(
        self, check: MetricCheck, target: Workload, start: float, end: float, step: float
    ) -> list[tuple[float, float | None]]:
        """Values at start, start+step, ... ≤ end (clock time), None where Prometheus has none.

        Raises `Unavailable` when Prometheus cannot be reached and `Invalid` when it
        rejects the query (a range query fails as a whole)."""
        name = check.template or check.name
        tpl = self.templates.get(name)
        if tpl is None:
            raise Invalid(
                "prometheus",
                f"Prometheus at {self.url} has no metric template named '{name}'; add it to the metric templates.",
            )
        if end < start:
            return []
        step = max(step, (end - start) / MAX_POINTS, 1e-3)
        try:
            q = tpl.render(target[0], target[1], self.window(check.interval))
        except TemplateError as exc:
            raise Invalid(
                "prometheus",
                f"The metric template '{name}' for Prometheus at {self.url} cannot be used: {exc}; fix the template.",
            ) from None
        r0, rstep = self.to_real(start), step / self.speed
        count = int((end - start) / step + 1e-9) + 1
        params = {"query": q, "start": f"{r0:.3f}", "end": f"{r0 + (count - 1) * rstep:.3f}", "step": f"{rstep:.3f}"}
        self.last_query = q
        try:
            data = await self._api("/api/v1/query_range", params)
        except Failure as f:
            raise (Unavailable if f.transient else Invalid)("prometheus", f.sentence) from None
        got: dict[int, float | None] = {}
        for s in (data.get("result") or []) if isinstance(data, dict) else []:
            for ts, text in s.get("values") or []:
                try:
                    v = float(text)
                except ValueError:
                    continue
                i = round((float(ts) - float(params["start"])) / float(params["step"]))
                if 0 <= i < count:
                    got[i] = v if math.isfinite(v) else None
        return [(start + i * step, got.get(i)) for i in range(count)]


class RangeCursor:
    """Incremental history of one metric of one workload, for sparklines.

    The first `poll()` fetches the last `span` seconds; later ones only the points
    after the newest one seen. Points newer than `now - lag` are left for the next
    poll, so a scrape still in flight is not frozen as a gap."""

    def __init__(
        self,
        metrics: PrometheusMetrics,
        check: MetricCheck,
        target: Workload,
        *,
        step: float,
        span: float,
        lag: float = 0.0,
        keep: int | None = None,
    ) -> None:
        self.metrics, self.check, self.target = metrics, check, target
        self.step, self.span, self.lag = step, span, lag
        self.last: float | None = None
        self.points: deque[tuple[float, float | None]] = deque(maxlen=keep or max(1, int(span / step) + 1))

    async def poll(self, now: float | None = None) -> list[tuple[float, float | None]]:
        """The new points (also appended to `points`); raises like `history()`."""
        end = (self.metrics.now() if now is None else now) - self.lag
        start = end - self.span if self.last is None else self.last + self.step
        if start > end + 1e-9:
            return []
        new = await self.metrics.history(self.check, self.target, start, end, self.step)
        if self.last is not None:
            new = [p for p in new if p[0] > self.last + 1e-9]
        if new:
            self.last = new[-1][0]
            self.points.extend(new)
        return new

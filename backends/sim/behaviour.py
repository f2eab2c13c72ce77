"""How one version (one image) of a workload behaves under traffic.

A `Behaviour` is what a scenario file says about an image: its success rate,
its latency (a lognormal fitted to the p50 and p99 it is given), how long its
pods take to become ready, how many of its first health checks fail, and an
optional `ramp` that moves those numbers linearly over time, counted from the
moment the image first serves traffic (a leak that gets worse under load).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: z-score of the 99th percentile of the standard normal distribution.
Z99 = 2.3263478740408408


class Ramp(BaseModel):
    """Move towards these values between `start_after` and `start_after + over` seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_after: float = Field(0.0, ge=0)
    over: float = Field(60.0, gt=0)
    success_rate: float | None = Field(None, ge=0, le=100)
    p50_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)


class Behaviour(BaseModel):
    """Per-image behaviour; every field has a healthy default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    success_rate: float = Field(99.95, ge=0, le=100)  # percent of requests that are not 5xx
    error_code: int = Field(500, ge=500, le=599)  # what the failing requests answer
    p50_ms: float = Field(40.0, gt=0)
    p99_ms: float = Field(180.0, gt=0)
    ready_after: float = Field(5.0, ge=0)  # seconds for each new pod to become ready
    health_failures: int = Field(0, ge=0)  # the first N health checks of a pod set fail
    ramp: Ramp | None = None

    @model_validator(mode="after")
    def _p99_above_p50(self) -> Behaviour:
        if self.p99_ms < self.p50_ms:
            raise ValueError(f"p99_ms ({self.p99_ms:g}) must not be below p50_ms ({self.p50_ms:g})")
        return self

    def at(self, serving_for: float | None) -> Effective:
        """The numbers in force after the image has served traffic for `serving_for` seconds."""
        success, p50, p99 = self.success_rate, self.p50_ms, self.p99_ms
        ramp = self.ramp
        if ramp is not None and serving_for is not None and serving_for > ramp.start_after:
            f = min(1.0, (serving_for - ramp.start_after) / ramp.over)
            if ramp.success_rate is not None:
                success += (ramp.success_rate - success) * f
            if ramp.p50_ms is not None:
                p50 += (ramp.p50_ms - p50) * f
            if ramp.p99_ms is not None:
                p99 += (ramp.p99_ms - p99) * f
        return Effective(success / 100.0, max(p50, 1e-3), max(p99, p50, 1e-3), self.error_code)


@dataclass(frozen=True, slots=True)
class Effective:
    """The behaviour of an image at one instant, ready to draw requests from."""

    success: float  # probability in [0, 1]
    p50_ms: float
    p99_ms: float
    error_code: int = 500

    @property
    def mu(self) -> float:
        return math.log(self.p50_ms)

    @property
    def sigma(self) -> float:
        return max(0.0, (math.log(self.p99_ms) - math.log(self.p50_ms)) / Z99)

    def draw(self, rng: random.Random) -> tuple[int, float]:
        """One request: (response code, latency in ms)."""
        code = 200 if rng.random() < self.success else self.error_code
        return code, rng.lognormvariate(self.mu, self.sigma)


#: What a request meets when its destination has no ready pod (Envoy's "no healthy upstream").
NO_UPSTREAM = Effective(success=0.0, p50_ms=0.8, p99_ms=2.0, error_code=503)

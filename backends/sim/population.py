"""A simulated stream of users for the embedded store's experiments.

Every simulated second, a Poisson number of new users (mean `users_per_second`)
arrives; each one is assigned in every active experiment exactly as the seed
assigns (`app.experiments.assign_variant`) and converts with its variant's
true rate. The counts accumulate per experiment and variant, so the room
shows live numbers. Everything is driven by the injected clock and one seeded
random generator: the same seed and the same ticks give the same numbers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from app.clock import Clock
from app.experiments import experiment_variant

#: True conversion rates per experiment and variant: a small uplift for variant_a.
DEFAULT_RATES: dict[str, dict[str, float]] = {
    "checkout-flow-redesign": {"control": 0.100, "variant_a": 0.112},
    "product-page-layout": {"control": 0.300, "variant_a": 0.315, "variant_b": 0.300},
}
DEFAULT_RATE = 0.10
#: At most this many simulated seconds are caught up in one tick (a clock jump skips the rest).
MAX_CATCH_UP_S = 3600


class Population:
    def __init__(
        self,
        clock: Clock,
        seed: int = 0,
        experiments: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        users_per_second: float = 20.0,
        rates: Mapping[str, Mapping[str, float]] | None = None,
        default_rate: float = DEFAULT_RATE,
    ) -> None:
        """`experiments` is a live mapping of id -> seed config (the store's own dict)."""
        if users_per_second < 0:
            raise ValueError("users_per_second cannot be negative.")
        self.clock = clock
        self.seed = seed
        self.experiments: Mapping[str, Mapping[str, Any]] = experiments if experiments is not None else {}
        self.users_per_second = users_per_second
        self.rates: dict[str, dict[str, float]] = {k: dict(v) for k, v in (rates or DEFAULT_RATES).items()}
        self.default_rate = default_rate
        self._rng = random.Random(seed)
        self._last = clock.now()
        self._next_user = 0
        self._counts: dict[str, dict[str, list[int]]] = {}
        self.started: dict[str, float] = {}  # experiment id -> clock time of its first simulated user
        self.seconds = 0  # simulated seconds so far

    # ------------------------------------------------------------ reading

    def counts(self, experiment_id: str) -> dict[str, tuple[int, int]]:
        """variant -> (users, converters) so far."""
        return {v: (u, c) for v, (u, c) in self._counts.get(experiment_id, {}).items()}

    def elapsed_days(self, experiment_id: str, now: float | None = None) -> float:
        start = self.started.get(experiment_id)
        if start is None:
            return 0.0
        return max(0.0, ((self.clock.now() if now is None else now) - start) / 86400)

    @property
    def users_so_far(self) -> int:
        """How many simulated users have arrived (`sim-user-0` .. `sim-user-{n-1}`)."""
        return self._next_user

    def rate(self, experiment_id: str, variant: str) -> float:
        return self.rates.get(experiment_id, {}).get(variant, self.default_rate)

    # ------------------------------------------------------------ steering

    def set_rate(self, experiment_id: str, variant: str, rate: float) -> None:
        if not 0 <= rate <= 1:
            raise ValueError("A conversion rate is between 0 and 1.")
        self.rates.setdefault(experiment_id, {})[variant] = rate

    def reset(self, experiment_id: str) -> None:
        self._counts.pop(experiment_id, None)
        self.started.pop(experiment_id, None)

    # ------------------------------------------------------------ running

    def _poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, round(self._rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, self._rng.random()
        while p > limit:
            k += 1
            p *= self._rng.random()
        return k

    def _second(self, t: float) -> int:
        n = self._poisson(self.users_per_second)
        for _ in range(n):
            uid = f"sim-user-{self._next_user}"
            self._next_user += 1
            for exp_id, config in self.experiments.items():
                try:
                    variant = experiment_variant(config, uid)
                except (ValueError, TypeError):
                    continue  # an invalid config assigns nobody (the seed would fail too)
                if variant is None:
                    continue
                converted = self._rng.random() < self.rate(exp_id, variant)
                row = self._counts.setdefault(exp_id, {}).setdefault(variant, [0, 0])
                row[0] += 1
                row[1] += converted
                self.started.setdefault(exp_id, t)
        self.seconds += 1
        return n

    def tick(self, now: float) -> int:
        """Simulate every whole second between the last tick and `now`; returns the users added."""
        steps = int(math.floor(now - self._last + 1e-9))
        if steps <= 0:
            return 0
        skipped = max(0, steps - MAX_CATCH_UP_S)
        added = 0
        for i in range(skipped, steps):
            added += self._second(self._last + i + 1)
        self._last += steps
        return added

    async def run(self) -> None:
        """Tick once per clock second, forever (cancel the task to stop)."""
        while True:
            await self.clock.sleep(1)
            self.tick(self.clock.now())

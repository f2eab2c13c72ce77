"""A whole-life history in bounded memory: values bucketed in time, buckets merged as the history grows.

`History(bucket=5.0, limit=240)` takes `add(t, value)` as often as the engine
samples. Values falling in the same bucket are aggregated (count, sum, min,
max); once there are more than `limit` buckets, neighbours are merged pairwise
and the bucket width doubles, so a rollout of ten minutes keeps 5-second
buckets and one of ten days keeps ~1-hour buckets, both in `limit` entries.
Missing values (`None`: no data, a metrics outage) are counted, never averaged.

`Marks` keeps the decisions to draw on a chart (step, failed check, rollback,
promotion), at most `limit` of them, oldest dropped first. Pure: no I/O, no
Textual, no clock of its own.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass
class Bucket:
    start: float
    count: int = 0
    missing: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def add(self, value: float | None) -> None:
        if value is None:
            self.missing += 1
            return
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    def merge(self, other: Bucket) -> Bucket:
        return Bucket(
            start=min(self.start, other.start),
            count=self.count + other.count,
            missing=self.missing + other.missing,
            total=self.total + other.total,
            low=min(self.low, other.low),
            high=max(self.high, other.high),
        )


class History:
    def __init__(self, bucket: float = 5.0, limit: int = 240) -> None:
        if bucket <= 0 or limit < 2:
            raise ValueError("a history needs a positive bucket width and room for at least 2 buckets")
        self.width = bucket
        self.limit = limit
        self.origin: float | None = None
        self.buckets: list[Bucket] = []

    def add(self, t: float, value: float | None) -> None:
        if self.origin is None:
            self.origin = t
        if t < self.origin:
            return  # older than the history's start: a late back-fill adds nothing
        start = self.origin + ((t - self.origin) // self.width) * self.width
        if self.buckets and self.buckets[-1].start == start:
            self.buckets[-1].add(value)
        elif self.buckets and start < self.buckets[-1].start:
            self._into_older(t, value)
        else:
            bucket = Bucket(start=start)
            bucket.add(value)
            self.buckets.append(bucket)
            while len(self.buckets) > self.limit:
                self._coarsen()

    def _into_older(self, t: float, value: float | None) -> None:
        for bucket in reversed(self.buckets):
            if bucket.start <= t:
                bucket.add(value)
                return

    def _coarsen(self) -> None:
        """Double the bucket width: merge the buckets that now share a bucket."""
        assert self.origin is not None
        self.width *= 2
        merged: list[Bucket] = []
        for bucket in self.buckets:
            start = self.origin + ((bucket.start - self.origin) // self.width) * self.width
            if merged and merged[-1].start == start:
                merged[-1] = merged[-1].merge(bucket)
            else:
                bucket.start = start
                merged.append(bucket)
        self.buckets = merged

    def points(self) -> list[tuple[float, float | None]]:
        """(middle of the bucket, mean value or None) for every bucket, oldest first."""
        return [(b.start + self.width / 2, b.mean) for b in self.buckets]

    def __len__(self) -> int:
        return len(self.buckets)


#: The decisions (audit actions) drawn as marks on a rollout's charts.
MARK_KINDS = frozenset({"step", "check-failed", "rollback", "failed", "switch-back", "promote", "succeeded", "switch"})


@dataclass(frozen=True)
class Mark:
    t: float
    kind: str  # "step", "check-failed", "rollback", "promote", ...
    label: str = ""


class Marks:
    def __init__(self, limit: int = 200) -> None:
        self.items: deque[Mark] = deque(maxlen=limit)

    def add(self, mark: Mark) -> None:
        if not self.items or self.items[-1] != mark:
            self.items.append(mark)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

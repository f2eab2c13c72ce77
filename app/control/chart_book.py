"""What the charts draw, kept by the engine for a rollout's (or an experiment's) whole life.

- one `History` per (target, check), fed from the plotted series at every series refresh
  (the first refresh brings the back-filled points along);
- the decisions recorded on each target (`MARK_KINDS`), as marks;
- each experiment's counts over time, one point per time bucket (the latest counts in it),
  the buckets doubling in width as the life grows, so a ten-day experiment keeps its start.

Published additively in `RoomState.histories` / `.marks` and `Experiment.history`; the
published tuples are rebuilt only when something was added.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.history import MARK_KINDS, History, Mark, Marks
from app.model import AuditEvent, DecisionMark, Experiment, ExperimentPoint, MetricHistory, MetricSeries


class Timeline:
    """Experiment points, at most one per bucket; over `limit`, the bucket width doubles."""

    def __init__(self, bucket: float, limit: int) -> None:
        self.width = bucket
        self.limit = limit
        self.points: list[ExperimentPoint] = []

    def _bucket(self, t: float) -> int:
        return int((t - self.points[0].t) // self.width) if self.points else 0

    def add(self, point: ExperimentPoint) -> None:
        if self.points and point.t < self.points[-1].t:
            return
        if len(self.points) > 1 and self._bucket(point.t) == self._bucket(self.points[-1].t):
            self.points[-1] = point  # the latest counts of the bucket
        else:
            self.points.append(point)
        while len(self.points) > self.limit:
            self.width *= 2
            kept = [self.points[0]]  # the start stays: the charts count days from it
            for p in self.points[1:]:
                if len(kept) > 1 and self._bucket(p.t) == self._bucket(kept[-1].t):
                    kept[-1] = p
                else:
                    kept.append(p)
            self.points = kept


class ChartBook:
    def __init__(self, *, bucket: float, limit: int = 240, marks: int = 200) -> None:
        self.bucket = bucket
        self.limit = limit
        self.marks_limit = marks
        self._histories: dict[tuple[str, str], History] = {}
        self._last: dict[tuple[str, str], float] = {}
        self._shape: dict[tuple[str, str], MetricSeries] = {}  # unit and range of each history
        self._marks: dict[str, Marks] = {}
        self._timelines: dict[str, Timeline] = {}
        self._published: tuple[tuple[MetricHistory, ...], tuple[DecisionMark, ...]] | None = None

    def add_series(self, series: Iterable[MetricSeries]) -> None:
        for s in series:
            key = (s.target, s.name)
            history = self._histories.setdefault(key, History(bucket=self.bucket, limit=self.limit))
            self._shape[key] = s
            last = self._last.get(key, float("-inf"))
            for t, v in zip(s.times, s.values, strict=False):
                if t > last:
                    history.add(t, v)
                    last = t
                    self._published = None
            self._last[key] = last

    def add_event(self, event: AuditEvent) -> None:
        if event.action in MARK_KINDS:
            marks = self._marks.setdefault(event.target, Marks(self.marks_limit))
            marks.add(Mark(event.t, event.action, event.reason[:80]))
            self._published = None

    def experiments(self, now: float, experiments: Iterable[Experiment]) -> tuple[Experiment, ...]:
        """Each experiment with its counts over its life (a point when they changed, one per bucket)."""
        out = []
        for e in experiments:
            line = self._timelines.setdefault(e.id, Timeline(self.bucket, self.limit))
            if e.variants and (not line.points or line.points[-1].variants != e.variants):
                line.add(ExperimentPoint(t=now, variants=e.variants))
            out.append(e.model_copy(update={"history": tuple(line.points)}))
        return tuple(out)

    def published(self) -> tuple[tuple[MetricHistory, ...], tuple[DecisionMark, ...]]:
        if self._published is None:
            histories = tuple(
                MetricHistory(
                    target=target,
                    name=name,
                    unit=self._shape[(target, name)].unit,
                    min=self._shape[(target, name)].min,
                    max=self._shape[(target, name)].max,
                    bucket=h.width,
                    times=tuple(t for t, _ in points),
                    values=tuple(v for _, v in points),
                )
                for (target, name), h in self._histories.items()
                for points in (h.points(),)
            )
            marks = tuple(
                DecisionMark(target=target, t=m.t, kind=m.kind, label=m.label)
                for target, book in self._marks.items()
                for m in book.items
            )
            self._published = (histories, marks)
        return self._published

"""A/B experiments, read-only: one row per variant with users and conversion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from app.sanitize import clean
from widgets.formatting import truncate
from widgets.keyed_table import Column, KeyedTable, Row, pick
from widgets.palette import Palette

if TYPE_CHECKING:
    from app.model import Experiment, VariantStats

EXPERIMENT_COLUMNS = (
    Column("experiment", "experiment", 22),
    Column("status", "status", 9),
    Column("variant", "variant", 14),
    Column("split", "split", 6),
    Column("users", "users", 8),
    Column("converted", "conv", 7),
    Column("rate", "rate", 7),
    Column("note", "note", 30),
)
COMPACT_EXPERIMENT_COLUMNS = (
    Column("experiment", "experiment", 16),
    Column("status", "status", 8),
    Column("variant", "variant", 12),
    Column("split", "split", 5),
    Column("users", "users", 7),
    Column("converted", "conv", 6),
    Column("rate", "rate", 6),
)  # the note is the detail pane's: "Not enough data ..."


def rate_text(variant: VariantStats) -> str:
    rate = variant.rate
    return "–" if rate is None else f"{rate * 100:.1f}%"


def status_style(status: str, p: Palette) -> str:
    return {
        "active": f"bold {p.info}",
        "running": f"bold {p.info}",
        "completed": p.ok,
        "stopped": p.warn,
        "paused": p.warn,
    }.get(status, p.muted)


def experiment_rows(experiment: Experiment, p: Palette, columns: tuple[Column, ...] = EXPERIMENT_COLUMNS) -> list[Row]:
    width = {c.key: c.width for c in columns} | {"note": 30}
    status = Text(truncate(clean(experiment.status), width["status"]), style=status_style(experiment.status, p))
    name = truncate(clean(experiment.id), width["experiment"])
    if experiment.error or not experiment.variants:
        why = Text(clean(experiment.error) or "no variants yet", style=p.bad if experiment.error else p.muted)
        dash = Text("–")
        return [
            (
                experiment.id,
                pick(
                    {
                        "experiment": Text(name, style="bold"),
                        "status": status,
                        "variant": dash,
                        "split": dash,
                        "users": dash,
                        "converted": dash,
                        "rate": dash,
                        "note": why,
                    },
                    columns,
                ),
            )
        ]
    best = max((v.rate or 0.0) for v in experiment.variants)
    rows: list[Row] = []
    for index, variant in enumerate(experiment.variants):
        first = index == 0
        leading = variant.rate is not None and variant.rate == best and best > 0
        note = ""
        smallest = min(v.users for v in experiment.variants)
        if first and experiment.min_sample_size and smallest < experiment.min_sample_size:
            note = f"below {experiment.min_sample_size:,} users per variant"
        rows.append(
            (
                f"{experiment.id}/{variant.name}",
                pick(
                    {
                        # The id on every row keeps filtering and sorting per row meaningful.
                        "experiment": Text(name, style="bold" if first else p.muted),
                        "status": status if first else Text(""),
                        "variant": Text(truncate(clean(variant.name), width["variant"])),
                        "split": Text(f"{variant.weight:g}%"),
                        "users": Text(f"{variant.users:,}"),
                        "converted": Text(f"{variant.converters:,}"),
                        "rate": Text(rate_text(variant), style=f"bold {p.ok}" if leading else ""),
                        "note": Text(note, style=p.muted),
                    },
                    columns,
                ),
            )
        )
    return rows


class ExperimentsList(KeyedTable):
    """Every experiment's variants, keyed `experiment/variant`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(EXPERIMENT_COLUMNS, COMPACT_EXPERIMENT_COLUMNS, **kwargs)
        self._experiments: tuple[Experiment, ...] = ()
        self._experiment_of: dict[str, str] = {}  # row key -> experiment id

    def refill(self) -> None:
        self.show(self._experiments)

    @property
    def selected_experiment(self) -> str | None:
        key = self.selected_key
        return None if key is None else self._experiment_of.get(key)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.show(self._experiments))

    def show(self, experiments: Sequence[Experiment]) -> None:
        self._experiments = tuple(experiments)
        p = Palette.of(self)
        rows: list[Row] = []
        self._experiment_of = {}
        for experiment in self._experiments:
            mine = experiment_rows(experiment, p, self.column_specs)
            self._experiment_of.update((key, experiment.id) for key, _ in mine)
            rows.extend(mine)
        self.sync(rows)

"""The rollouts table: one row per target, keyed by `Rollout.key`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from app.enums import Phase, Strategy
from app.sanitize import clean
from widgets.formatting import (
    CANARY_CELL,
    STABLE_CELL,
    fraction,
    idle_color,
    image_cell,
    moving,
    split_cells,
    strategy_short,
    target_label,
    weights_text,
)
from widgets.keyed_table import Column, KeyedTable, Row, row_text
from widgets.palette import Palette

if TYPE_CHECKING:
    from app.model import Rollout

TRAFFIC_BAR = 10

WIDE_COLUMNS = (
    Column("target", "target", 22),
    Column("strategy", "kind", 6),
    Column("phase", "phase", 11),
    Column("control", "ctl/by", 7),
    Column("traffic", "traffic", 17),
    Column("step", "step", 5),
    Column("failed", "fail", 5),
    Column("stable", "stable", 8),
    Column("canary", "canary", 9),
)

# 80 columns: every column stays, abbreviated; the bar is drawn large in the detail pane.
COMPACT_COLUMNS = (
    Column("target", "target", 15),
    Column("strategy", "kind", 4),
    Column("phase", "phase", 11),
    Column("control", "ctl/by", 7),
    Column("traffic", "traffic", 7),
    Column("step", "step", 4),
    Column("failed", "fail", 4),
    Column("images", "stable→new", 11),
)


def control_text(rollout: Rollout, p: Palette) -> Text:
    """Who drives it and how: `auto`/`manual`/`paused` for this room's controller, else `flagger`/`argo`."""
    if rollout.driven_by and rollout.driven_by != "shiftroom":
        return Text(clean(rollout.driven_by) + (" ‖" if rollout.paused else ""), style=f"italic {p.info}")
    if rollout.paused:
        return Text("paused", style=f"bold {p.warn}")
    return Text("auto" if rollout.auto else "manual", style=p.text if rollout.auto else p.primary)


def phase_text(rollout: Rollout, p: Palette) -> Text:
    style = p.phase(rollout.phase)
    return Text(rollout.phase.value, style=f"bold {style}" if rollout.phase.terminal else style)


def traffic_text(rollout: Rollout, p: Palette, width: int = TRAFFIC_BAR) -> Text:
    """Canary: `▇▇▇▇▇▇▁▁▁▁ 60/40` (actual split, `»` while moving to the desired one).
    Blue-green: the live colour, and where it is switching to."""
    if rollout.strategy is Strategy.BLUE_GREEN:
        live = rollout.active_color or "?"
        text = Text.assemble(("● ", p.colour(live)), (live, f"bold {p.colour(live)}"))
        if moving(rollout):
            target = idle_color(live) or "?"
            text.append(" → ", style=p.warn)
            text.append(target, style=p.colour(target))
        else:
            text.append(" live", style=p.text)
        return text
    stable, canary = split_cells(rollout.actual, width)
    text = Text.assemble(
        (STABLE_CELL * stable, p.text),  # not the cursor colour: stays visible on the selected row
        (CANARY_CELL * canary, p.canary),
        " " if width else "",
        (weights_text(rollout.actual), p.warn if moving(rollout) else p.text),
    )
    if moving(rollout):
        text.append("»", style=f"bold {p.warn}")
    return text


def failed_text(rollout: Rollout, p: Palette) -> Text:
    if not rollout.threshold:
        return Text("–", style=p.muted)
    if rollout.failed_checks >= rollout.threshold:
        style = f"bold {p.bad}"
    elif rollout.failed_checks:
        style = p.warn
    else:
        style = p.text
    return Text(fraction(rollout.failed_checks, rollout.threshold), style=style)


PRODUCTION_MARK = "!"  # one cell in every terminal (East-Asian-ambiguous glyphs are two in some)


def target_text(rollout: Rollout, p: Palette, width: int, namespace: bool = True) -> Text:
    if rollout.production:
        label = target_label(rollout.key, width - 2, namespace=namespace)
        return Text.assemble((f"{PRODUCTION_MARK} ", f"bold {p.bad}"), (clean(label), "bold"))
    return Text(clean(target_label(rollout.key, width, namespace=namespace)))


def new_image(rollout: Rollout) -> str:
    """The image being rolled out: a blue-green pair's idle colour only while it is being released."""
    if rollout.strategy is Strategy.BLUE_GREEN and rollout.phase is not Phase.PROGRESSING:
        return ""
    return rollout.canary_image


def images_text(rollout: Rollout, p: Palette, width: int) -> Text:
    """`1.4.2→1.5.0` (compact): the stable tag, and the new one while a release runs."""
    new = new_image(rollout)
    if not new or new == rollout.stable_image:
        return Text(clean(image_cell(rollout.stable_image, new, width)))
    half = (width - 1) // 2
    return Text.assemble(
        (clean(image_cell(rollout.stable_image, new, width - 1 - half)), p.text),
        "→",
        (clean(image_cell(new, rollout.stable_image, half)), p.canary),
    )


def rollout_cells(
    rollout: Rollout, p: Palette, columns: Sequence[Column], *, namespace: bool = True
) -> tuple[Any, ...]:
    widths = {c.key: c.width for c in columns}
    makers = {
        "target": lambda: target_text(rollout, p, widths["target"], namespace),
        "strategy": lambda: Text(strategy_short(rollout.strategy, widths["strategy"])),
        "phase": lambda: phase_text(rollout, p),
        "control": lambda: control_text(rollout, p),
        "traffic": lambda: traffic_text(rollout, p, 0 if widths["traffic"] < TRAFFIC_BAR else TRAFFIC_BAR),
        "step": lambda: Text(fraction(rollout.step, rollout.steps)),
        "failed": lambda: failed_text(rollout, p),
        "stable": lambda: Text(clean(image_cell(rollout.stable_image, new_image(rollout), widths["stable"]))),
        "canary": lambda: Text(
            clean(image_cell(new_image(rollout), rollout.stable_image, widths["canary"])),
            style=p.canary if new_image(rollout) != rollout.stable_image else p.text,
        ),
        "images": lambda: images_text(rollout, p, widths["images"]),
    }
    return tuple(makers[c.key]() for c in columns)


def roster_cells(row: Any, p: Palette, columns: Sequence[Column], *, namespace: bool = True) -> tuple[Any, ...]:
    """The first frame's row (backends/sim/roster.py's `RosterRow`): the target and its kind; the rest waits."""
    widths = {c.key: c.width for c in columns}
    cells = {
        "target": target_text(row, p, widths["target"], namespace),
        "strategy": Text(strategy_short(row.strategy, widths["strategy"])),
        "phase": Text("…", style=p.muted),
    }
    return tuple(cells.get(c.key, Text("")) for c in columns)


class RolloutsTable(KeyedTable):
    """Every rollout; the cursor row is the selected target."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(WIDE_COLUMNS, COMPACT_COLUMNS, **kwargs)
        self._rollouts: tuple[Rollout, ...] = ()
        self._roster: tuple[Any, ...] = ()  # the opening's rows, until the first snapshot
        # Each row's cells with the rollout they were made from, for one palette, column set and namespace choice:
        # a rollout equal to last time's gets the same cells back, which the table skips without comparing them.
        self._made: dict[str, tuple[Rollout, tuple[Any, ...]]] = {}
        self._made_for: tuple[object, ...] = ()

    def refill(self) -> None:
        if self._roster and not self._rollouts:
            self.show_roster(self._roster)
        else:
            self.show(self._rollouts)

    def show(self, rollouts: Sequence[Rollout]) -> None:
        self._rollouts = tuple(rollouts)
        self.sync(self._rows())

    def show_roster(self, rows: Sequence[Any]) -> None:
        """The targets' names and kinds, before the first snapshot says anything else about them."""
        self._roster = tuple(rows)
        p = Palette.of(self)
        namespace = len({r.namespace for r in rows}) > 1
        self.sync([(r.key, roster_cells(r, p, self.column_specs, namespace=namespace)) for r in rows])

    def _rows(self) -> list[Row]:
        p = Palette.of(self)
        # One namespace for every row: the header already says it, the names get the room.
        namespace = len({r.namespace for r in self._rollouts}) > 1
        made_for = (p, self.column_specs, namespace)
        before = self._made if made_for == self._made_for else {}
        made: dict[str, tuple[Rollout, tuple[Any, ...]]] = {}
        for r in self._rollouts:
            last = before.get(r.key)
            if last is None or last[0] != r:
                last = (r, rollout_cells(r, p, self.column_specs, namespace=namespace))
            made[r.key] = last
        self._made, self._made_for = made, made_for
        return [(r.key, made[r.key][1]) for r in self._rollouts]

    def hidden_text(self, key: str) -> str:
        if not self.compact or not self.row_filter.text:
            return ""
        rollout = next((r for r in self._rollouts if r.key == key), None)
        if rollout is None:
            return ""
        # The wide row's words (`canary`, not the 80-column `can`), so `/canary` finds the same rows.
        return row_text(rollout_cells(rollout, Palette.of(self), WIDE_COLUMNS))

    def on_mount(self) -> None:
        # KeyedTable.on_mount (called by Textual before this one) added the columns.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refill())

"""Feature flags, read-only: name, on/off, percentage, environments, errors."""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from app.model import Flag
from app.sanitize import clean
from widgets.formatting import truncate
from widgets.keyed_table import Column, KeyedTable, Row
from widgets.palette import Palette

FLAG_COLUMNS = (
    Column("name", "flag", 24),
    Column("state", "state", 7),
    Column("percentage", "rollout", 7),
    Column("environments", "environments", 20),
    Column("whitelist", "allow", 5),
    Column("note", "note", 80),
)


def flag_cells(flag: Flag, p: Palette) -> tuple[Any, ...]:
    envs = "all" if flag.environments is None else (", ".join(flag.environments) or "none")
    if not flag.valid:
        return (
            Text(truncate(flag.name, 24), style=f"bold {p.bad}"),
            Text("invalid", style=f"bold {p.bad}"),
            Text("–"),
            Text("–"),
            Text("–"),
            Text(clean(flag.error), style=p.bad),
        )
    return (
        Text(truncate(flag.name, 24), style="bold"),
        Text("on", style=f"bold {p.ok}") if flag.enabled else Text("off", style=p.muted),
        Text(f"{flag.percentage:g}%" if flag.percentage else "–"),
        Text(truncate(envs, 20)),
        Text(str(len(flag.user_whitelist)) if flag.user_whitelist else "–"),
        Text(f"bucketing {flag.bucketing}" if flag.bucketing != "seed" else "", style=p.muted),
    )


class FlagsList(KeyedTable):
    """Every flag, keyed by name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(FLAG_COLUMNS, **kwargs)
        self._flags: tuple[Flag, ...] = ()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.show(self._flags))

    def show(self, flags: Sequence[Flag]) -> None:
        self._flags = tuple(flags)
        p = Palette.of(self)
        rows: list[Row] = [(f.name, flag_cells(f, p)) for f in self._flags]
        self.sync(rows)


def flag_summary(flag: Flag | None) -> Content:
    """Everything about one flag, untruncated: the line under the flags table."""
    if flag is None:
        return Content.styled("no flag selected", "$text-muted")
    head: list[tuple[str, str] | str] = [(clean(flag.name), "bold")]
    if not flag.valid:
        head += ["  ", ("invalid: ", "bold $error"), (clean(flag.error), "$error")]
        return Content.assemble(*head)
    envs = "all environments" if flag.environments is None else ("no environment" if not flag.environments else ", ".join(flag.environments))
    head += [
        "  ",
        ("on" if flag.enabled else "off", "bold $success" if flag.enabled else "$text-muted"),
        "  ",
        (envs, ""),
    ]
    if flag.percentage:
        head += ["  ", (f"{flag.percentage:g}% of users", "")]
    if flag.user_whitelist:
        head += ["  ", ("allow ", "$text-muted"), ", ".join(flag.user_whitelist)]
    if flag.public:
        head += ["  ", ("public ", "$text-muted"), ", ".join(sorted(flag.public))]
    return Content.assemble(*head)


class FlagDetail(Static):
    """The selected flag in full (the table truncates; this line does not)."""

    DEFAULT_CSS = """
    FlagDetail { height: auto; max-height: 4; padding: 0 1; border-top: solid $panel-lighten-2; }
    """

    def show(self, flag: Flag | None) -> None:
        self.update(flag_summary(flag))

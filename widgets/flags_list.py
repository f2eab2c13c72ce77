"""Feature flags, read-only: name, who gets it, environments, errors.

The state reads in the seed's evaluation order (app/flags.py `evaluate`):
environments, then the whitelist, then a non-zero percentage, which wins over
`enabled`; so a flag with `enabled: false` and 35 % is "35 % of users", not "off".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from app.sanitize import clean
from widgets.formatting import truncate
from widgets.keyed_table import Column, KeyedTable, Row, pick
from widgets.palette import Palette

if TYPE_CHECKING:
    from app.model import Flag

FLAG_COLUMNS = (
    Column("name", "flag", 24),
    Column("state", "who gets it", 44),
    Column("whitelist", "allow", 5),
    Column("note", "note", 60),
)
COMPACT_FLAG_COLUMNS = (
    Column("name", "flag", 20),
    Column("state", "who gets it", 34),
    Column("whitelist", "allow", 5),
    Column("note", "note", 60),
)


def who_text(flag: Flag) -> str:
    """`35 % of users`, `whitelist only`, `off`, `on`, each `in production, staging` when limited."""
    if flag.percentage:  # truthy: decides for everyone not whitelisted, whatever `enabled` says
        who = "on" if flag.percentage >= 100 else f"{flag.percentage:g} % of users"
    elif flag.enabled:
        who = "on"
    elif flag.user_whitelist:
        who = "whitelist only"
    else:
        return "off"
    if flag.percentage and flag.user_whitelist and flag.percentage < 100:
        who += " + whitelist"
    if flag.environments is None:
        return who
    if not flag.environments:  # an empty list is truthy in the seed: no environment matches
        return "off (no environment allowed)"
    return f"{who} in {', '.join(clean(e) for e in flag.environments)}"


def flag_cells(flag: Flag, p: Palette, columns: tuple[Column, ...] = FLAG_COLUMNS) -> tuple[Any, ...]:
    width = {c.key: c.width for c in columns}
    name = clean(flag.name)
    if not flag.valid:
        return pick(
            {
                "name": Text(truncate(name, width["name"]), style=f"bold {p.bad}"),
                "state": Text("invalid", style=f"bold {p.bad}"),
                "whitelist": Text("–"),
                "note": Text(clean(flag.error), style=p.bad),
            },
            columns,
        )
    who = who_text(flag)
    return pick(
        {
            "name": Text(truncate(name, width["name"]), style="bold"),
            "state": Text(truncate(who, width["state"]), style=p.muted if who.startswith("off") else f"bold {p.ok}"),
            "whitelist": Text(str(len(flag.user_whitelist)) if flag.user_whitelist else "–"),
            "note": Text(f"bucketing {clean(flag.bucketing)}" if flag.bucketing != "seed" else "", style=p.muted),
        },
        columns,
    )


class FlagsList(KeyedTable):
    """Every flag, keyed by name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(FLAG_COLUMNS, COMPACT_FLAG_COLUMNS, **kwargs)
        self._flags: tuple[Flag, ...] = ()

    def refill(self) -> None:
        self.show(self._flags)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.show(self._flags))

    def show(self, flags: Sequence[Flag]) -> None:
        self._flags = tuple(flags)
        p = Palette.of(self)
        rows: list[Row] = [(f.name, flag_cells(f, p, self.column_specs)) for f in self._flags]
        self.sync(rows)


def flag_summary(flag: Flag | None) -> Content:
    """Everything about one flag, untruncated: the line under the flags table."""
    if flag is None:
        return Content.styled("no flag selected", "$text-muted")
    head: list[tuple[str, str] | str] = [(clean(flag.name), "bold")]
    if not flag.valid:
        head += ["  ", ("invalid: ", "bold $error"), (clean(flag.error), "$error")]
        return Content.assemble(*head)
    who = who_text(flag)
    head += ["  ", (who, "$text-muted" if who.startswith("off") else "bold $success")]
    if flag.environments is None:
        head += ["  ", ("all environments", "")]
    head += ["  ", ("enabled ", "$text-muted"), "true" if flag.enabled else "false"]
    if flag.user_whitelist:
        head += ["  ", ("allow ", "$text-muted"), ", ".join(clean(u) for u in flag.user_whitelist)]
    if flag.public:
        head += ["  ", ("public ", "$text-muted"), ", ".join(sorted(clean(k) for k in flag.public))]
    return Content.assemble(*head)


class FlagDetail(Static):
    """The selected flag in full (the table truncates; this line does not)."""

    DEFAULT_CSS = """
    FlagDetail { height: auto; max-height: 4; padding: 0 1; border-top: solid $panel-lighten-2; }
    """

    def show(self, flag: Flag | None) -> None:
        self.update(flag_summary(flag))

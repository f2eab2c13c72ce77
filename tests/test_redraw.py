"""The room and the wall redraw only what changed, and show exactly what they showed before.

These count calls (layouts, cell updates, footer rebuilds, tile rows), never time.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from tests.test_room_pilot import WIDE, make
from tests.ui_states import STATE, replace_rollout
from widgets.rollouts_table import RolloutsTable
from widgets.room_footer import RoomFooter
from widgets.static_update import set_content
from widgets.wall_cards import Card
from widgets.wall_tile import WallTile


class OneStatic(App[None]):
    CSS = "#auto { width: auto; } #wide { width: 30; }"

    def compose(self) -> ComposeResult:
        yield Static("12:00:00", id="auto")
        yield Static("first", id="wide")


def record_layouts(widget: Widget) -> list[bool]:
    """The `layout` argument of every refresh of `widget` from now on."""
    calls: list[bool] = []
    refresh = widget.refresh

    def spy(*regions: Any, **kwargs: Any) -> Any:
        calls.append(bool(kwargs.get("layout", False)))
        return refresh(*regions, **kwargs)

    widget.refresh = spy  # type: ignore[method-assign]
    return calls


async def test_set_content_skips_the_same_content_and_lays_out_only_for_a_new_size() -> None:
    app = OneStatic()
    async with app.run_test(size=(80, 10)) as pilot:
        clock, wide = app.query_one("#auto", Static), app.query_one("#wide", Static)
        clock_layouts, wide_layouts = record_layouts(clock), record_layouts(wide)
        assert set_content(clock, "12:00:00") is False
        assert clock_layouts == []  # nothing at all for the same text
        assert set_content(clock, "12:00:01") is True
        assert clock_layouts == [False]  # same width: a repaint, no layout
        await pilot.pause()
        assert str(clock.render()) == "12:00:01"
        assert set_content(clock, "12:00:01 UTC") is True
        assert clock_layouts[-1] is True  # `width: auto` and wider: laid out again
        await pilot.pause()
        assert clock.size.width == len("12:00:01 UTC")
        assert set_content(wide, "a longer text than before") is True
        assert wide_layouts == [False]  # a fixed width: the text is longer, the box is not
        assert set_content(wide, "a text much too long for thirty cells, so it wraps") is True
        assert wide_layouts[-1] is True  # it wraps onto a second line: the height changes


async def test_an_unchanged_rollout_updates_no_cell_and_a_changed_one_only_its_cells_and_row() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(RolloutsTable)
        await pilot.pause()
        updated: list[tuple[str, list[str]]] = []
        update_row = table._update_row
        repainted: list[tuple[Region, ...]] = []
        refresh = table.refresh

        def spy_row(key: str, changed: list[tuple[str, Any]]) -> None:
            updated.append((key, [column for column, _ in changed]))
            update_row(key, changed)

        def spy_refresh(*regions: Region, **kwargs: Any) -> Any:
            repainted.append(regions)
            return refresh(*regions, **kwargs)

        table._update_row = spy_row  # type: ignore[method-assign]
        table.refresh = spy_refresh  # type: ignore[method-assign]
        engine.publish(STATE.model_copy(update={"seq": STATE.seq + 1}))
        await pilot.pause()
        assert updated == [] and repainted == []
        engine.publish(replace_rollout(STATE, "shop/checkout", step=4))
        await pilot.pause()
        assert updated == [("shop/checkout", ["step"])]
        assert table.get_cell("shop/checkout", "step").plain.startswith("4/")
        # One row repainted, not the table (DataTable.update_cell repaints every row).
        row = table.get_row_index("shop/checkout") + table.header_height - table.scroll_offset.y
        assert repainted == [(Region(0, row, table.size.width, 1),)]
        assert "4/" in table.render_line(row).text


async def test_the_footer_is_rebuilt_only_when_its_keys_change() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        footer = app.screen.query_one(RoomFooter)
        await pilot.pause()
        keys = list(footer.query(FooterKey))
        assert keys and all(k.has_class("-compact") for k in keys)
        app.screen.refresh_bindings()
        app.screen.refresh_bindings()
        await pilot.pause()
        assert list(footer.query(FooterKey)) == keys  # the same widgets: nothing was rebuilt
        await pilot.press("2")  # the flags tab: its own keys
        await pilot.pause()
        descriptions = [k.description for k in footer.query(FooterKey)]
        assert "Edit flag" in descriptions and "Step" not in descriptions
        await pilot.press("1")
        await pilot.pause()
        assert "Step" in [k.description for k in footer.query(FooterKey)]


class OneTile(App[None]):
    def compose(self) -> ComposeResult:
        yield WallTile()


def card(age: str) -> Card:
    lines = (Text("PROGRESSING", style="bold yellow"), Text("bar"), Text("failed checks 0/5"), Text(f"step · {age}"))
    return Card("shop-api", "shop", lines, "moving")


async def test_a_wall_tile_repaints_only_the_line_that_changed() -> None:
    app = OneTile()
    async with app.run_test(size=(60, 8)) as pilot:
        tile = app.query_one(WallTile)
        tile.show(card("4s ago"))
        await pilot.pause()
        rows = list(tile.query(".tile-line").results(Static))
        assert [str(r.render()) for r in rows] == ["PROGRESSING", "bar", "failed checks 0/5", "step · 4s ago"]
        layouts = [record_layouts(r) for r in rows]
        tile.show(card("5s ago"))
        assert [len(calls) for calls in layouts] == [0, 0, 0, 1] and layouts[3] == [False]
        await pilot.pause()
        assert str(rows[3].render()) == "step · 5s ago"
        tile.show(None)
        assert not tile.display

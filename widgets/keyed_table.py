"""A DataTable updated by keyed diffing, never by clearing.

Owners hand it the full list of rows, each with a stable key; it adds and
removes rows by key and updates only the cells whose content changed, all
inside one `app.batch_update()`, repainting only the rows they are in. Column
widths are fixed. The `/` filter is applied here, on the text of the whole row.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from widgets.row_filter import NO_FILTER, RowFilter


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int


Row = tuple[str, tuple[Any, ...]]


def cell_signature(cell: Any) -> Hashable:
    """What decides whether a cell changed: Text equality ignores the base style."""
    if isinstance(cell, Text):
        return (cell.plain, str(cell.style), tuple((s.start, s.end, str(s.style)) for s in cell.spans))
    return str(cell)


def pick(cells: dict[str, Any], columns: Sequence[Column]) -> tuple[Any, ...]:
    """The cells of one row for the columns shown, from every cell the row has."""
    return tuple(cells.get(c.key, Text("")) for c in columns)


def row_text(cells: tuple[Any, ...]) -> str:
    return " ".join(c.plain if isinstance(c, Text) else str(c) for c in cells)


class KeyedTable(DataTable[Any]):
    """DataTable with `sync(rows)`; subclasses build the rows from model objects."""

    DEFAULT_CSS = """
    KeyedTable { height: 1fr; }
    """

    compact: reactive[bool] = reactive(False)

    def __init__(
        self, columns: Sequence[Column], compact_columns: Sequence[Column] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(cursor_type="row", cell_padding=1, **kwargs)
        self._wide: tuple[Column, ...] = tuple(columns)
        self._narrow: tuple[Column, ...] = tuple(compact_columns or columns)
        self._columns: tuple[Column, ...] = tuple(columns)
        self._shown: dict[str, tuple[Hashable, ...]] = {}
        self._cells: dict[str, tuple[Any, ...]] = {}  # the cells last shown per row: the same tuple again is no change
        self._all_rows: list[Row] = []
        self.row_filter: RowFilter = NO_FILTER

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for column in self._columns:
            self.add_column(column.label, width=column.width, key=column.key)

    @property
    def column_specs(self) -> tuple[Column, ...]:
        return self._columns

    def watch_compact(self, compact: bool) -> None:
        if self.is_mounted:
            columns = self._narrow if compact else self._wide
            if columns != self._columns:
                selected = self.selected_key
                self._all_rows = []  # the cells were made for the other columns
                self.set_columns(columns)
                self.refill()
                if selected is not None:
                    self.select_key(selected)

    def refill(self) -> None:
        """Show the last model objects again (after a column switch); subclasses that cache them override."""

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Switch to another column set (wide/compact): the one time rows are rebuilt."""
        columns = tuple(columns)
        if columns == self._columns:
            return
        selected = self.selected_key
        self._columns = columns
        self.clear(columns=True)
        self._shown.clear()
        self._cells.clear()
        self._add_columns()
        self.sync(self._all_rows, selected=selected)

    @property
    def shown_keys(self) -> list[str]:
        """Row keys in display order."""
        return [str(row.key.value) for row in self.ordered_rows]

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return None if row_key.value is None else str(row_key.value)

    def hidden_text(self, key: str) -> str:
        """What the columns not shown now (80 columns) would say: the filter matches the same rows at any width."""
        return ""

    def set_filter(self, row_filter: RowFilter) -> None:
        if row_filter == self.row_filter:
            return
        self.row_filter = row_filter
        self.sync(self._all_rows)

    def sync(self, rows: Sequence[Row], *, selected: str | None = None) -> None:
        """Make the table show `rows` (after the filter), touching only what changed."""
        # The first cell is always a distinct Text object: `_reorder` ranks rows by it.
        rows = [(k, cells if isinstance(cells[0], Text) else (Text(str(cells[0])), *cells[1:])) for k, cells in rows]
        self._all_rows = list(rows)
        keep_selected = selected or self.selected_key
        # The key is part of what the filter sees: cells may abbreviate it.
        wanted = rows if not self.row_filter.active else [(k, cells) for k, cells in rows if self._matches(k, cells)]
        wanted_keys = {k for k, _ in wanted}
        column_keys = [c.key for c in self._columns]
        with self.app.batch_update():
            for key in [k for k in self._shown if k not in wanted_keys]:
                self.remove_row(key)
                del self._shown[key]
                self._cells.pop(key, None)
            for key, cells in wanted:
                self._show_row(key, cells, column_keys)
            self._reorder([k for k, _ in wanted])
            self._restore_cursor(keep_selected)

    def _matches(self, key: str, cells: tuple[Any, ...]) -> bool:
        return self.row_filter.matches(f"{key} {row_text(cells)} {self.hidden_text(key)}".rstrip())

    def _show_row(self, key: str, cells: Any, column_keys: list[Any]) -> None:
        """Add the row, or update only the cells whose rendering changed."""
        if self._cells.get(key) is cells:  # the owner handed back the very cells of last time: nothing changed
            return
        self._cells[key] = cells
        signature = tuple(cell_signature(c) for c in cells)
        old = self._shown.get(key)
        if old is None:
            self.add_row(*cells, key=key)
        elif old != signature:
            changed = [
                (column_key, cell)
                for column_key, new, before, cell in zip(column_keys, signature, old, cells, strict=False)
                if new != before
            ]
            self._update_row(key, changed)
        self._shown[key] = signature

    def _update_row(self, key: str, changed: list[tuple[str, Any]]) -> None:
        """`update_cell` for each changed cell of one row, with a repaint of that row alone.

        `DataTable.update_cell` repaints the whole table for every cell: with fifty rows that is
        every cell of every row rendered again through Rich, when one row's phase changed."""
        data = self._data[RowKey(key)]
        for column_key, cell in changed:
            data[ColumnKey(column_key)] = cell
        self._update_count += 1  # DataTable's render caches are keyed by it: changed rows render anew
        self.refresh_row(self.get_row_index(key))

    def _reorder(self, order: list[str]) -> None:
        if self.shown_keys == order or not self._columns:
            return
        first = self._columns[0].key
        rank = {id(self.get_cell(key, first)): i for i, key in enumerate(order)}
        self.sort(first, key=lambda cell: rank.get(id(cell), len(rank)))

    def _restore_cursor(self, key: str | None) -> None:
        if key is None or key not in self._shown:
            return
        index = self.get_row_index(key)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)

    def select_key(self, key: str) -> bool:
        if key not in self._shown:
            return False
        self.move_cursor(row=self.get_row_index(key), animate=False)
        return True

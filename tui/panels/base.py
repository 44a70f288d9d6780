"""What every panel shares: a titled box, a status line, severity styles from the theme."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from blackstart.checks.severity import Severity

Cells = Sequence[Text]

# Rendered cells and lines a table keeps: a few screens' worth. Every cell update changes
# every cache key of the table (Textual keys them by its update count), so old entries
# only leave by eviction: at Textual's 10,000 cells per table the cockpit's memory grew
# for the better part of an hour of polling (bench/tui_memory.py) before it levelled.
CELL_CACHE = 2000
LINE_CACHE = 500


class Table(DataTable[Text]):
    """A DataTable of node data whose render caches are bounded to a few screens."""

    def __init__(self, *, id: str) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._cell_render_cache = LRUCache(CELL_CACHE)
        self._line_cache = LRUCache(LINE_CACHE)


class Panel(Vertical):
    """A box titled like the design says, with a line saying what it is checking."""

    # Styled in blackstart.tcss from theme variables; read back as Rich styles so that
    # data rendered with Text(...) still takes its colours from the theme.
    COMPONENT_CLASSES = {"sev--ok", "sev--info", "sev--warning", "sev--critical", "panel--dim"}

    def __init__(self, title: str, checking: str, *, id: str) -> None:  # noqa: A002
        super().__init__(id=id, classes="panel")
        self.border_title = title
        self._checking = checking
        self._status_shown: tuple[str, bool] | None = None  # what the status line shows now

    def status_widget(self) -> Static:
        return Static(self._checking, classes="panel-status", markup=False)

    def set_status(self, text: str, *, error: bool = False) -> None:
        """Only a change touches the widget: each update of a Static is a layout pass."""
        if self._status_shown == (text, error):
            return
        self._status_shown = (text, error)
        status = self.query_one(".panel-status", Static)
        status.update(Text(text))
        status.set_class(error, "-error")
        status.display = bool(text)

    def sev_style(self, severity: Severity) -> Style:
        return self.get_component_rich_style(f"sev--{severity.label}", partial=True)

    def dim_style(self) -> Style:
        return self.get_component_rich_style("panel--dim", partial=True)

    def styled(self, text: str, severity: Severity | None = None) -> Text:
        """Node data as a Text: never parsed as markup."""
        return Text(text, style=self.sev_style(severity) if severity is not None else "")


def sync_table(table: DataTable[Text], rows: Mapping[str, Cells]) -> None:
    """Update a table by row key: changed cells in place, gone rows removed, and only when
    rows come or go (the order changes) rebuilt in order, the cursor kept on its row.

    The cursor and selection survive a refresh; the row order never depends on which
    probe happened to answer first.
    """
    existing = [k.value for k in table.rows]
    if existing != list(rows):
        _rebuild(table, rows)
        return
    columns = list(table.columns)
    for key, cells in rows.items():
        for col, cell in zip(columns, cells, strict=False):
            if not same_text(table.get_cell(key, col), cell):
                table.update_cell(key, col, cell)


def same_text(a: object, b: Text) -> bool:
    """Text equality that also compares the base style (Rich's == only compares spans),
    so a theme switch re-renders cells whose words did not change."""
    return isinstance(a, Text) and a == b and str(a.style) == str(b.style)


def _rebuild(table: DataTable[Text], rows: Mapping[str, Cells]) -> None:
    # Follow the operator's selection across the rebuild; an untouched cursor stays on
    # the first row, so what is shown never depends on the probes' arrival order.
    keep = selected_key(table) if (table.cursor_row > 0 or table.has_focus) else None
    table.clear()
    for key, cells in rows.items():
        table.add_row(*cells, key=key)
    if keep is not None and keep in rows:
        table.move_cursor(row=table.get_row_index(keep))


def selected_key(table: DataTable[Text]) -> str | None:
    if table.row_count == 0:
        return None
    try:
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    except Exception:  # noqa: BLE001 - cursor outside the table after rows went away
        return None
    return row_key.value

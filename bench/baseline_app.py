"""The baseline: a bare Textual app with a Header and a static DataTable.

It is what any Textual app costs on this machine and terminal: Python start-up,
`import textual`, one compositor pass, and (once painted) nothing more. The
benches run it exactly as they run `shiftroom demo` and print Shiftroom's
figures as ratios to it. Its table uses the room's column names and target
names so both apps are recognised by the same marker text.

    python -m bench.baseline_app
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Header

TITLE = "Baseline"
COLUMNS = ("target", "kind", "phase", "ctl", "traffic", "step", "fail", "stable", "canary")
ROWS = (
    ("frontend", "b/g", "Initialized", "auto", "blue live", "0/7", "-", "stable", "-"),
    ("microservices-canary", "canary", "Initialized", "auto", "100/0", "0/6", "0/5", "1.4.0", "1.4.0"),
    ("checkout", "canary", "Succeeded", "auto", "100/0", "6/6", "0/5", "2.0.1", "2.0.1"),
    ("search", "b/g", "Succeeded", "manual", "green live", "7/7", "-", "3.3.0", "-"),
)
#: Text that is on screen once the first full frame has been painted.
MARKERS = (TITLE, "target", "microservices-canary")


class BaselineApp(App[None]):
    TITLE = TITLE
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, width=max(len(name), 22 if name == "target" else 12))
        for row in ROWS:
            table.add_row(*row)


def main() -> None:
    BaselineApp().run()


if __name__ == "__main__":
    main()

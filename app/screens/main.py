"""The main screen: header, tabs (rollouts | flags | experiments), filter, footer.

It receives every snapshot from the App and hands each widget its slice, but
only for what is visible: a hidden tab is rendered when it is shown. It keeps
rendering under a modal (help, an editor, a confirmation), so the clock, the
tables and the event log never freeze and nothing jumps when the modal closes.

Keys act only on what the current tab shows: `TAB_OF_ACTION` names the tab of
every tab-bound action, `check_action` hides the others (from the footer too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, TabbedContent, TabPane

from app.enums import Strategy
from widgets.detail import RolloutDetail
from widgets.event_log import EventLog
from widgets.experiment_detail import ExperimentDetail
from widgets.experiments_list import ExperimentsList
from widgets.flags_list import FlagDetail, FlagsList
from widgets.header import RoomHeader
from widgets.keyed_table import KeyedTable
from widgets.rollouts_table import RolloutsTable
from widgets.room_footer import RoomFooter
from widgets.row_filter import RowFilter

if TYPE_CHECKING:
    from app.model import RoomState

NARROW = 120  # below this many columns the detail pane goes under the table
TABS = ("rollouts", "flags", "experiments")
TABLE_OF_TAB = {"rollouts": "#rollouts-table", "flags": "#flags-table", "experiments": "#experiments-table"}
#: The tab whose rows an action works on; it is hidden (and unbound) on every other tab.
TAB_OF_ACTION = {
    "act": "rollouts",
    "pause_resume": "rollouts",
    "auto_manual": "rollouts",
    "not_for_strategy": "rollouts",
    "edit_flag": "flags",
    "new_flag": "flags",
    "kill_flag": "flags",
    "restore_flag": "flags",
    "experiment_status": "experiments",
    "rebuild_counters": "experiments",
    "toggle_sequential": "experiments",
}
#: Verbs a strategy has not got: the footer does not offer them for such a rollout.
NOT_FOR = {Strategy.CANARY: frozenset({"switch"}), Strategy.BLUE_GREEN: frozenset({"step", "promote"})}
STRATEGY_NAME = {Strategy.CANARY: "a canary", Strategy.BLUE_GREEN: "a blue-green pair"}


def strategy_fallbacks(bindings: list[Binding]) -> list[Binding]:
    """Hidden bindings on the same keys that answer when a verb is not offered for the selected rollout.

    Textual tries a key's bindings in order: when `check_action` refuses `act('switch')` for a
    canary, the next binding for `b` runs and says why, so a key is never silently ignored.
    """
    verbs = frozenset().union(*NOT_FOR.values())
    out = []
    for binding in bindings:
        verb = binding.action.removeprefix("act('").removesuffix("')")
        if binding.action.startswith("act(") and verb in verbs:
            out.append(Binding(binding.key, f"not_for_strategy('{verb}')", show=False))
    return out


class FilterField(Input):
    """The filter's field: Enter keeps the filter and gives the table the focus at once.

    At once, not on the `Submitted` message: in a burst (`2/check⏎1/pay⏎`) the keys behind
    Enter are commands again (see app/screens/key_routing.py), so the focus must have moved
    before the next key is routed.
    """

    async def action_submit(self) -> None:
        await super().action_submit()
        screen = self.screen
        if isinstance(screen, MainScreen):
            screen.keep_filter(self.value)


REBUILD_NOTE = "The seed's own events are not counted yet: press r to rebuild this experiment's counters."
REBUILD_NOTE_READ_ONLY = (
    "Results for seed-written data need a rebuild by a writable room: this room is read-only, "
    "so these numbers leave the seed's own events out."
)


class MainScreen(Screen[None]):
    """Watching: every view, no write keys (the read-only room uses exactly this)."""

    BINDINGS = [
        # Declared here rather than on the App so that the footer shows it first, even at 80 columns.
        Binding("question_mark", "app.help", "Help", id="help", tooltip="every key of the room"),
        Binding("q", "app.quit", "Quit", id="quit-room", tooltip="leave the room (the engine stops driving)"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="filter rows: text or regex, ! inverts"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear-filter"),
        Binding("j,down", "row_down", "Next row", show=False, id="row-down"),
        Binding("k,up", "row_up", "Previous row", show=False, id="row-up"),
        Binding("tab", "app.focus_next", "Next pane", show=False, id="next-pane"),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False, id="previous-pane"),
        Binding("1", "show_tab('rollouts')", "Rollouts", show=False, id="tab-rollouts"),
        Binding("2", "show_tab('flags')", "Flags", show=False, id="tab-flags"),
        Binding("3", "show_tab('experiments')", "Experiments", show=False, id="tab-experiments"),
        Binding("c", "charts", "Charts", show=False, id="charts", tooltip="charts: the selected rollout or experiment"),
        Binding(
            "f",
            "toggle_sequential",
            "Fixed/sequential",
            id="stats-mode",
            tooltip="experiments: sequential or fixed-horizon intervals",
        ),
    ]

    def __init__(
        self,
        state: RoomState,
        *,
        read_only: bool = False,
        title_context: str | None = None,
        roster: tuple[Any, ...] = (),
    ) -> None:
        super().__init__(id="main")
        self.state = state
        self.roster = roster  # the opening's targets (app/screens/opening.py), shown until a snapshot has rollouts
        self.read_only = read_only
        self.title_context = title_context
        self.filters: dict[str, str] = {tab: "" for tab in TABS}
        self.renders = 0  # how many snapshots were drawn (tests, benchmarks)
        self.sequential = True  # experiments: always-valid intervals unless switched

    def binding_group(self, binding: Binding) -> str:
        return "Room" if binding.id == "help" else "Navigation"

    def compose(self) -> ComposeResult:
        yield RoomHeader(read_only=self.read_only, title_context=self.title_context)
        with TabbedContent(id="tabs", initial="rollouts"):
            with TabPane("Rollouts", id="rollouts"):
                yield from self._rollouts_body()
            with TabPane("Flags", id="flags"):
                yield FlagsList(id="flags-table")
                yield FlagDetail(id="flag-detail")
            with TabPane("Experiments", id="experiments"):
                yield ExperimentsList(id="experiments-table")
                yield ExperimentDetail(id="experiment-detail")
        yield FilterField(placeholder="filter: text or regex · ! inverts · Enter keeps · Esc clears", id="filter")
        yield RoomFooter(compact=True)

    def _rollouts_body(self) -> ComposeResult:
        """The rollouts tab: the table over the event log, the detail pane beside them."""
        with Horizontal(id="rollouts-body"):
            with Vertical(id="left"):
                yield RolloutsTable(id="rollouts-table")
                yield EventLog(id="events")
            yield RolloutDetail(id="detail")

    def on_mount(self) -> None:
        for tab, selector in TABLE_OF_TAB.items():
            self.query_one(selector).border_title = tab
        self.query_one("#events").border_title = "events"
        self.query_one("#detail").border_title = "detail"
        self.query_one(RolloutsTable).focus()
        self._fit(self.app.size.width)  # now, not on the first Resize: a screen pushed later is laid out at once
        self.render_state()

    # ------------------------------------------------------------ snapshots

    def show_state(self, state: RoomState) -> None:
        self.state = state
        if self.is_mounted:  # under a modal too: the room keeps living, nothing jumps on close
            self.render_state()

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active or "rollouts"

    def render_state(self) -> None:
        state = self.state
        self.renders += 1
        self.query_one(RoomHeader).show(state)
        tab = self.active_tab
        if tab == "rollouts":
            table = self.query_one(RolloutsTable)
            if state.rollouts or not self.roster:
                self.roster = ()
                table.show(state.rollouts)
            else:
                table.show_roster(self.roster)
            self.query_one(EventLog).show(state.events)
            self._show_detail()
        elif tab == "flags":
            self.query_one(FlagsList).show(state.flags)
            self._show_flag()
        elif tab == "experiments":
            self.query_one(ExperimentsList).show(state.experiments)
            self._show_experiment()
        self._label_tabs(state)

    def _label_tabs(self, state: RoomState) -> None:
        tabs = self.query_one(TabbedContent)
        invalid = sum(1 for f in state.flags if not f.valid)
        labels = {
            "rollouts": f"Rollouts {len(state.rollouts or self.roster)}",
            "flags": f"Flags {len(state.flags)}" + (f" ({invalid} invalid)" if invalid else ""),
            "experiments": f"Experiments {len(state.experiments)}",
        }
        for tab_id, label in labels.items():
            tab = tabs.get_tab(tab_id)
            if str(tab.label) != label:
                tab.label = label

    @property
    def selected_key(self) -> str | None:
        return self.query_one(RolloutsTable).selected_key

    def _show_detail(self) -> None:
        key = self.selected_key
        rollout = self.state.rollout(key) if key else None
        series = self.state.series_for(rollout.key) if rollout else ()
        self.query_one(RolloutDetail).show(rollout, series, now=self.state.t, identity=self.identity)

    @property
    def identity(self) -> str | None:
        """This room's lease identity, so the detail pane can say "driven by this room"."""
        return getattr(getattr(self.app, "engine", None), "identity", None)

    @on(DataTable.RowHighlighted, "#rollouts-table")
    def _row_changed(self) -> None:
        self._show_detail()
        self.refresh_bindings()  # the footer offers the selected rollout's keys

    def _show_flag(self) -> None:
        key = self.query_one(FlagsList).selected_key
        flag = next((f for f in self.state.flags if f.name == key), None)
        self.query_one(FlagDetail).show(flag)

    @on(DataTable.RowHighlighted, "#flags-table")
    def _flag_changed(self) -> None:
        self._show_flag()

    def _show_experiment(self) -> None:
        exp_id = self.query_one(ExperimentsList).selected_experiment
        experiment = next((e for e in self.state.experiments if e.id == exp_id), None)
        self.query_one(ExperimentDetail).show(experiment, sequential=self.sequential)
        self._show_rebuild(exp_id)

    # ------------------------------------------------------------ counter rebuilds

    def _show_rebuild(self, exp_id: str | None) -> None:
        """The selected experiment's rebuild, from the snapshot: progress, its outcome, or a note that it needs one."""
        detail = self.query_one(ExperimentDetail)
        experiment = next((e for e in self.state.experiments if e.id == exp_id), None)
        job = next(
            (j for j in reversed(self.state.jobs) if j.kind == "rebuild" and j.target == f"experiment/{exp_id}"), None
        )
        if job is not None and job.status == "running":
            detail.show_rebuild(running=True, done=job.done, total=job.total or 0)
        elif job is not None and job.status in ("failed", "cancelled"):
            detail.show_rebuild(error=job.message)
        elif experiment is not None and experiment.needs_rebuild:
            detail.show_rebuild(note=REBUILD_NOTE_READ_ONLY if self.read_only else REBUILD_NOTE, warn=True)
        elif job is not None:
            detail.show_rebuild(note=job.message)
        else:
            detail.show_rebuild()

    @on(DataTable.RowHighlighted, "#experiments-table")
    def _experiment_changed(self) -> None:
        self._show_experiment()

    def action_not_for_strategy(self, verb: str) -> None:
        rollout = self.state.rollout(self.selected_key or "")
        if rollout is not None:
            self.notify(
                f"{verb} does not apply to {rollout.key}: it is {STRATEGY_NAME[rollout.strategy]}.",
                title=f"{verb} {rollout.key}",
                severity="warning",
                timeout=5,
            )

    def action_toggle_sequential(self) -> None:
        self.sequential = not self.sequential
        self._show_experiment()

    def action_charts(self) -> None:
        from app.screens.charts import EXPERIMENT, open_charts  # plotext: imported when a chart is first asked for

        if self.active_tab == "experiments":
            exp_id = self.query_one(ExperimentsList).selected_experiment
            open_charts(self, f"{EXPERIMENT}{exp_id}" if exp_id else None)
        else:
            open_charts(self, self.selected_key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "charts":  # a rollout's metrics or an experiment's uplift: flags have no chart
            return not (self.is_mounted and self.active_tab == "flags")
        tab = TAB_OF_ACTION.get(action)
        if tab is not None and not (self.is_mounted and self.active_tab == tab):
            return False
        if action == "act" and parameters:  # a verb the selected rollout's strategy has not got
            rollout = self.state.rollout(self.selected_key or "") if self.is_mounted else None
            verbs = NOT_FOR.get(rollout.strategy, frozenset()) if rollout is not None else frozenset()
            return str(parameters[0]) not in verbs
        return True

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        self.render_state()
        self.refresh_bindings()
        filter_input = self.query_one("#filter", Input)
        if self.focused is filter_input:  # `1/canary` in one burst: the text typed since is this tab's filter
            self.set_filter(filter_input.value, typed=True)
            return
        text = self.filters.get(self.active_tab, "")
        self._set_input(text)
        self.set_class(bool(text), "-filtering")

    # ------------------------------------------------------------ layout

    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        narrow = width < NARROW
        self.set_class(narrow, "-narrow")
        self.query_one(RolloutsTable).compact = narrow
        self.query_one(ExperimentsList).compact = narrow
        self.query_one(FlagsList).compact = narrow
        self.query_one(RoomHeader).set_compact(narrow)
        self.query_one(Footer).show_command_palette = not narrow  # ctrl+p still opens it; Quit needs the room

    # ------------------------------------------------------------ navigation

    def active_table(self) -> KeyedTable:
        return self.query_one(TABLE_OF_TAB[self.active_tab], KeyedTable)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.set_focus(self.active_table())  # now: a `/` right behind it in a burst must not lose its focus

    def action_row_down(self) -> None:
        self.active_table().action_cursor_down()

    def action_row_up(self) -> None:
        self.active_table().action_cursor_up()

    # ------------------------------------------------------------ filter

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self._set_input(self.filters.get(self.active_tab, ""))
        # Focus now, not after the queue: keys that arrived with `/` (a paste) are text, never commands.
        self.set_focus(self.query_one("#filter", Input))

    def action_clear_filter(self) -> None:
        self.set_filter("")
        self.remove_class("-filtering")
        self.active_table().focus()

    def _set_input(self, text: str) -> None:
        """Show `text` in the filter field without it answering with an `Input.Changed` of its own."""
        filter_input = self.query_one("#filter", Input)
        if filter_input.value != text:
            with filter_input.prevent(Input.Changed):
                filter_input.value = text

    def set_filter(self, text: str, *, typed: bool = False) -> None:
        """Filter the current tab's rows; `typed`: the text came from the field itself, which is left alone."""
        self.filters[self.active_tab] = text
        if not typed:
            self._set_input(text)
        table = self.active_table()
        table.set_filter(RowFilter(text))
        table.border_title = f"{self.active_tab}  /{text}" if text else self.active_tab
        if self.active_tab == "rollouts":
            self._show_detail()
        elif self.active_tab == "flags":
            self._show_flag()

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        # A burst of keys queues one Changed per key: apply what the field holds now, never an older value.
        self.set_filter(event.input.value, typed=True)

    def keep_filter(self, text: str) -> None:
        """Enter in the filter field: the filter stays (shown while it is not empty), the table has the focus."""
        self.set_filter(text, typed=True)
        self.set_class(bool(text), "-filtering")
        self.set_focus(self.active_table())

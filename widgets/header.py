"""The top line: context, namespace, mode badge, lock, scenario, backend health, clock.

The clock is the real time (from the App's `wall_clock`, which tests freeze);
when the room runs on the simulator its own clock runs faster than real time,
so that time is shown too, labelled `sim`. At 80 columns (`compact`) every
backend keeps its whole name, the scenario stays, and the simulator's context
word goes (the DEMO badge says it).

Data the room cannot trust is said in the header, in red, whenever it is not
zero: stored flags and experiments that did not parse (`2 flags, 1 experiment
invalid`) and audit entries spooled locally while the audit backend is away
(`audit: 3 queued`). At 80 columns these notes win over the scenario's name and
the simulator's time (both stay in tooltips).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from app.enums import HealthStatus, Mode
from app.sanitize import clean
from widgets.formatting import hhmmss, truncate
from widgets.static_update import set_content

if TYPE_CHECKING:
    from app.model import BackendHealth, RoomState

COMPACT_SCENARIO = 12  # cells the scenario's name gets at 80 columns


def clock_text(state_t: float, wall: float, *, simulated: bool, compact: bool = False) -> str:
    """`09:41:07 UTC`, or with the simulator's own time: `sim 09:52:31 │ 09:41:07 UTC`."""
    if compact:  # 80 columns: minutes are enough for both
        real = f"{hhmmss(wall)[:5]} UTC"
        return f"sim {hhmmss(state_t)[:5]} · {real}" if simulated else real
    real = f"{hhmmss(wall)} UTC"
    return f"sim {hhmmss(state_t)} │ {real}" if simulated else real


MODE_CLASS = {Mode.DEMO: "-demo", Mode.LIVE: "-live", Mode.READ_ONLY: "-read-only"}
HEALTH_COLOUR = {HealthStatus.UP: "$success", HealthStatus.STALE: "$warning", HealthStatus.DOWN: "$error"}
HEALTH_CLASS = {HealthStatus.UP: "-up", HealthStatus.STALE: "-stale", HealthStatus.DOWN: "-down"}


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def notes_text(state: RoomState, *, compact: bool = False) -> str:
    """`2 flags, 1 experiment invalid │ audit: 3 queued`; empty when all is well."""
    bad = []
    if state.invalid_flags:
        bad.append(plural(state.invalid_flags, "flag", "flags"))
    if state.invalid_experiments:
        bad.append(
            plural(state.invalid_experiments, "exp", "exps")
            if compact
            else plural(state.invalid_experiments, "experiment", "experiments")
        )
    if compact:  # every cell counts at 80 columns: `bad 2 flags 1 exp audit 3 queued`
        parts = ["bad " + " ".join(bad)] if bad else []
        parts += [f"audit {state.audit_queued} queued"] if state.audit_queued else []
        return " ".join(parts)
    parts = [", ".join(bad) + " invalid"] if bad else []
    parts += [f"audit: {state.audit_queued} queued"] if state.audit_queued else []
    return " │ ".join(parts)


def health_tooltip(health: BackendHealth) -> str:
    kind = f" ({health.kind})" if health.kind else ""
    reason = f": {health.reason}" if health.reason else ""
    return clean(f"{health.name}{kind} {health.status.value}{reason}")


class HealthDot(Static):
    """`● metrics`: green up, yellow stale, red down; the reason is the tooltip."""

    DEFAULT_CSS = """
    HealthDot { width: auto; margin-left: 1; }
    """

    def __init__(self, health: BackendHealth, *, compact: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.health: BackendHealth | None = None
        self.compact = compact
        self.show(health)

    def show(self, health: BackendHealth, compact: bool | None = None) -> None:
        compact = self.compact if compact is None else compact
        if health == self.health and compact == self.compact:
            return
        self.health, self.compact = health, compact
        colour = HEALTH_COLOUR[health.status]
        # The word is there for colour-blind eyes and monochrome terminals; the dot for a glance.
        word = "" if health.status is HealthStatus.UP else f" {health.status.value}"
        gap = "" if compact else " "
        set_content(self, Content.assemble(("●", colour), f"{gap}{clean(health.name)}", (word, f"bold {colour}")))
        self.tooltip = health_tooltip(health)
        for status, cls in HEALTH_CLASS.items():
            self.set_class(status is health.status, cls)


class RoomHeader(Horizontal):
    """One line; `show(state)` updates only the parts that changed."""

    DEFAULT_CSS = """
    RoomHeader { height: 1; dock: top; }
    RoomHeader > .context { width: auto; padding: 0 1; text-style: bold; }
    RoomHeader.-production > .context { background: $error; color: $text; }
    RoomHeader > .mode { width: auto; padding: 0 1; text-style: bold; }
    RoomHeader > .lock { width: auto; padding: 0 1; text-style: bold; display: none; }
    RoomHeader.-locked > .lock { display: block; }
    RoomHeader > .scenario { width: auto; padding: 0 1; }
    RoomHeader > .health { width: 1fr; height: 1; }
    RoomHeader > .notes { width: auto; padding: 0 1; text-style: bold; color: $error; display: none; }
    RoomHeader.-noted > .notes { display: block; }
    RoomHeader.-compact.-noted > .scenario { display: none; }
    RoomHeader.-compact > .notes { padding: 0 0 0 1; }
    RoomHeader > .clock { width: auto; padding: 0 1; text-style: bold; }
    RoomHeader.-compact > .context, RoomHeader.-compact > .scenario { padding: 0 0 0 1; }
    RoomHeader.-compact.-simulated > .context { display: none; }
    RoomHeader.-compact > .health > HealthDot { margin-left: 1; }
    RoomHeader.-compact > .clock { padding: 0 0 0 1; }
    """

    def __init__(self, *, read_only: bool = False, title_context: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.read_only = read_only
        self.title_context = title_context
        self.state: RoomState | None = None
        self.clock_text = "--:--:-- UTC"
        self.compact = False

    def compose(self) -> ComposeResult:
        yield Static("", classes="context", markup=False)
        yield Static("", classes="mode")
        yield Static("LOCKED", classes="lock")
        yield Static("", classes="scenario", markup=False)
        yield Horizontal(classes="health")
        yield Static("", classes="notes", markup=False)
        yield Static("--:--:-- UTC", classes="clock")

    def on_mount(self) -> None:
        self.set_class(self.read_only, "-locked")
        self.set_class(self.read_only, "-read-only")
        lock = self.query_one(".lock", Static)
        lock.tooltip = "read-only: the action keys are not bound and the backends refuse writes"

    def show(self, state: RoomState) -> None:
        before = self.state
        self.state = state
        where = (state.context, state.cluster, state.identity, state.namespace)
        if before is None or (before.context, before.cluster, before.identity, before.namespace) != where:
            context = self.title_context or state.context
            cluster = f" ({clean(state.cluster)})" if state.cluster and state.cluster != context else ""
            who = f" │ as {clean(state.identity)}" if state.identity else ""
            label = f"⎈ {clean(context)}{cluster} │ ns {clean(state.namespace)}{who}"
            set_content(self.query_one(".context", Static), label)
        # A production kubeconfig context (production_contexts:): the red context badge.
        self.set_class(bool(state.cluster) and any(r.production for r in state.rollouts), "-production")
        if before is None or before.mode is not state.mode:
            # The lock badge only adds something when the mode badge does not already say it.
            self.set_class(self.read_only and state.mode is not Mode.READ_ONLY, "-locked")
            mode = self.query_one(".mode", Static)
            set_content(mode, state.mode.value)
            for value, cls in MODE_CLASS.items():
                mode.set_class(value is state.mode, cls)
        if before is None or before.scenario != state.scenario:
            self._show_scenario()
        if before is None or before.health != state.health:
            self._show_health(state.health)
        self._show_notes()
        self._show_clock()

    def _show_notes(self) -> None:
        if self.state is None:
            return
        text = notes_text(self.state, compact=self.compact)
        self.set_class(bool(text), "-noted")
        notes = self.query_one(".notes", Static)
        if str(notes.content) != text:
            set_content(notes, text)
            notes.tooltip = notes_text(self.state) or None

    @property
    def notes(self) -> str:
        """What the notes say now (tests)."""
        return str(self.query_one(".notes", Static).content) if self.has_class("-noted") else ""

    @property
    def simulated(self) -> bool:
        """The simulator's clock is its own (the demo runs it faster than real time)."""
        return self.state is not None and self.state.context == "sim"

    def _show_scenario(self) -> None:
        scenario = clean(self.state.scenario) if self.state else ""
        # 80 columns: the scenario gives way before a backend's name does (the tooltip has it whole).
        label = truncate(scenario, COMPACT_SCENARIO) if self.compact else f"scenario {scenario}"
        label = label if scenario else ""
        self.query_one(".scenario", Static).tooltip = f"scenario {scenario}" if scenario else None
        set_content(self.query_one(".scenario", Static), label)

    def _show_clock(self) -> None:
        if self.state is None:
            return
        wall: Callable[[], float] = getattr(self.app, "wall_clock", time.time)
        self.set_class(self.simulated, "-simulated")
        # 80 columns with notes showing: the real time stays, the simulator's time goes to the tooltip.
        simulated = self.simulated and not (self.compact and self.has_class("-noted"))
        text = clock_text(self.state.t, wall(), simulated=simulated, compact=self.compact)
        clock = self.query_one(".clock", Static)
        clock.tooltip = f"sim {hhmmss(self.state.t)}" if self.simulated and not simulated else None
        if text != self.clock_text:
            self.clock_text = text
            set_content(clock, text)

    def set_compact(self, compact: bool) -> None:
        """80 columns: tighter spacing, whole names, the real clock without seconds."""
        if compact == self.compact:
            return
        self.compact = compact
        self.set_class(compact, "-compact")
        if self.state is not None and self.is_mounted:
            self._show_scenario()
            self._show_notes()
            for dot in self.query(HealthDot):
                if dot.health is not None:
                    dot.show(dot.health, compact)
            self._show_clock()

    def _show_health(self, health: Sequence[BackendHealth]) -> None:
        box = self.query_one(".health", Horizontal)
        dots = list(box.query_children(HealthDot))
        if [d.health.name for d in dots if d.health] == [h.name for h in health]:
            for dot, one in zip(dots, health, strict=True):
                dot.show(one)
            return
        box.remove_children()
        box.mount_all(HealthDot(h, compact=self.compact) for h in health)

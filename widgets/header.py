"""The top line: context, namespace, mode badge, lock, backend health, clock."""

from __future__ import annotations

from typing import Any, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from app.model import BackendHealth, HealthStatus, Mode, RoomState
from app.sanitize import clean
from widgets.formatting import hhmmss

MODE_CLASS = {Mode.DEMO: "-demo", Mode.LIVE: "-live", Mode.READ_ONLY: "-read-only"}
HEALTH_CLASS = {HealthStatus.UP: "-up", HealthStatus.STALE: "-stale", HealthStatus.DOWN: "-down"}


def health_tooltip(health: BackendHealth) -> str:
    kind = f" ({health.kind})" if health.kind else ""
    reason = f": {clean(health.reason)}" if health.reason else ""
    return f"{clean(health.name)}{kind} {health.status.value}{reason}"


class HealthDot(Static):
    """`● metrics`: green up, yellow stale, red down; the reason is the tooltip."""

    DEFAULT_CSS = """
    HealthDot { width: auto; margin-left: 1; }
    """

    def __init__(self, health: BackendHealth, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.health: BackendHealth | None = None
        self.show(health)

    def show(self, health: BackendHealth) -> None:
        if health == self.health:
            return
        self.health = health
        colour = {HealthStatus.UP: "$success", HealthStatus.STALE: "$warning", HealthStatus.DOWN: "$error"}[health.status]
        # The word is there for colour-blind eyes and monochrome terminals; the dot for a glance.
        word = "" if health.status is HealthStatus.UP else f" {health.status.value}"
        self.update(Content.assemble(("●", colour), f" {health.name}", (word, f"bold {colour}")))
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
    RoomHeader > .clock { width: auto; padding: 0 1; text-style: bold; }
    """

    def __init__(self, *, read_only: bool = False, title_context: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.read_only = read_only
        self.title_context = title_context
        self.state: RoomState | None = None
        self.clock_text = "--:--:-- UTC"

    def compose(self) -> ComposeResult:
        yield Static("", classes="context", markup=False)
        yield Static("", classes="mode")
        yield Static("LOCKED", classes="lock")
        yield Static("", classes="scenario", markup=False)
        yield Horizontal(classes="health")
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
            self.query_one(".context", Static).update(f"⎈ {clean(context)}{cluster} │ ns {clean(state.namespace)}{who}")
        # A production kubeconfig context (production_contexts:): the red context badge.
        self.set_class(bool(state.cluster) and any(r.production for r in state.rollouts), "-production")
        if before is None or before.mode is not state.mode:
            # The lock badge only adds something when the mode badge does not already say it.
            self.set_class(self.read_only and state.mode is not Mode.READ_ONLY, "-locked")
            mode = self.query_one(".mode", Static)
            mode.update(state.mode.value)
            for value, cls in MODE_CLASS.items():
                mode.set_class(value is state.mode, cls)
        if before is None or before.scenario != state.scenario:
            self.query_one(".scenario", Static).update(f"scenario {clean(state.scenario)}" if state.scenario else "")
        if before is None or before.health != state.health:
            self._show_health(state.health)
        if before is None or int(before.t) != int(state.t):
            self.clock_text = f"{hhmmss(state.t)} UTC"
            self.query_one(".clock", Static).update(self.clock_text)

    def _show_health(self, health: Sequence[BackendHealth]) -> None:
        box = self.query_one(".health", Horizontal)
        dots = list(box.query_children(HealthDot))
        if [d.health.name for d in dots if d.health] == [h.name for h in health]:
            for dot, one in zip(dots, health):
                dot.show(one)
            return
        box.remove_children()
        box.mount_all(HealthDot(h) for h in health)

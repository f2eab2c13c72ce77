"""One factory builds the room for the CLI and for the tests."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.clock import Clock, ScaledClock, VirtualClock
from app.control.engine import Engine
from app.model import Mode
from app.scenario_names import DEFAULT_SCENARIO
from backends.base import AuditLog, Store

if TYPE_CHECKING:
    from app.config import NotifyConfig, PrometheusConfig
    from app.room import ShiftroomApp
    from backends.sim.world import SimWorld


@dataclass
class RoomOptions:
    scenario: str = DEFAULT_SCENARIO
    speed: float = 10.0  # demo clock seconds per real second
    seed: int | None = None
    theme: str = "dark"
    read_only: bool = False
    actor: str | None = None
    instance: str | None = None  # the room's own actor and lease holder (default `shiftroom@host#pid`)
    virtual: bool = False  # tests and headless runs: time moves only when told
    publish_hz: float = 2.0  # snapshots per real second at most
    metrics_port: int | None = None  # serve the simulated traffic as Istio metrics on 127.0.0.1:PORT
    redis_url: str | None = None  # flags, experiments and audit in Redis instead of the simulator's store
    audit_key: bytes | None = None  # audit.key_file's contents: sign and chain every audit entry (Redis)
    prometheus: PrometheusConfig | None = None  # metrics from Prometheus instead of the simulator
    notify: NotifyConfig | None = None  # Slack / JSON webhooks for rollbacks
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys, from shiftroom.yaml


@dataclass
class Demo:
    """A simulated world and the engine driving it."""

    world: SimWorld
    engine: Engine
    clock: Clock
    exporter: object | None = None
    autopilot: Engine | None = None  # read-only demos: the world's own controller drives the releases


def make_clock(options: RoomOptions) -> Clock:
    return VirtualClock() if options.virtual else ScaledClock(speed=options.speed)


def make_demo(options: RoomOptions, clock: Clock | None = None) -> Demo:
    """The embedded simulated cluster, its flag store and an engine on top of it."""
    from app.wiring import notifier_from_config
    from backends.sim.build import build_world
    from backends.sim.cluster import SimCluster
    from backends.sim.decisions import record_decisions
    from backends.sim.scenario import load_scenario
    from backends.sim.store import AuditedSimStore, SimAudit
    from backends.webhooks import HttpWebhooks

    clock = clock or make_clock(options)
    scenario = load_scenario(options.scenario)
    world = build_world(scenario, clock, seed=options.seed)
    seed = options.seed if options.seed is not None else scenario.seed
    background: list[Callable[[], Awaitable[None]]] = [world.run]
    store: Store
    audit: AuditLog
    world_audit: SimAudit | None = None
    if options.redis_url:
        from backends.redis import RedisStore

        redis_store = RedisStore(
            options.redis_url, read_only=options.read_only, clock=clock, audit_key=options.audit_key
        )
        store = redis_store
        audit = redis_store.audit  # one connection: a write and its audit entry share a MULTI
    else:
        world_audit = SimAudit()  # the world's own controller (read-only demos) writes here; the room reads it
        sim_audit = world_audit.view(read_only=options.read_only)
        sim_store = AuditedSimStore(clock, sim_audit, seed=seed, read_only=options.read_only)
        store, audit = sim_store, sim_audit
        background.append(sim_store.population.run)
        background.append(functools.partial(record_decisions, world, world_audit))  # decisions as cluster Events
    metrics = world.metrics
    if options.prometheus is not None:
        from app.wiring import prometheus_from_config

        metrics = prometheus_from_config(options.prometheus, clock)
    cluster = SimCluster(world, read_only=True) if options.read_only else world.cluster
    pilot = None
    if options.read_only:
        from app.autopilot import autopilot, beside

        pilot = autopilot(world, clock, audit=world_audit)  # its decisions show in the room's event log
        background.append(beside(pilot))
    # Snapshots at most `publish_hz` per real second, whatever the demo speed.
    speed = 1.0 if options.virtual else options.speed
    publish_every = max(1.0, speed / options.publish_hz)
    engine = Engine(
        clock=clock,
        cluster=cluster,
        metrics=metrics,
        targets=world.targets,
        store=store,
        audit=audit,
        webhooks=HttpWebhooks(),
        notifier=notifier_from_config(options.notify) if options.notify else None,
        mode=Mode.READ_ONLY if options.read_only else Mode.DEMO,
        context="sim",
        namespace=",".join(sorted({t.namespace for t in world.targets})) or "all",
        scenario=scenario.name,
        actor=options.actor,
        identity=options.instance,
        tick_every=1.0,
        publish_every=publish_every,
        series_every=max(5.0, publish_every),
        background=background,
    )
    exporter = None
    if options.metrics_port is not None:
        from backends.sim.exporter import start_exporter

        exporter = start_exporter(world, port=options.metrics_port)
    return Demo(world=world, engine=engine, clock=clock, exporter=exporter, autopilot=pilot)


def make_app(options: RoomOptions, clock: Clock | None = None) -> ShiftroomApp:
    from app.room import ShiftroomApp

    demo = make_demo(options, clock)
    app = ShiftroomApp(demo.engine, theme=options.theme)
    if options.keymap:
        app.set_keymap(options.keymap)
    return app

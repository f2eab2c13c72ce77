"""CLI registration of the headless verbs (`status`, `wait`, the rollout commands), `watch` and `serve`.

`add_parsers(sub)` adds the sub-commands; `run(args, config)` runs one and
returns its exit code (see `app.verbs` for their meaning). Without `--demo`
they run on the current kubeconfig context, with the room's cluster flags
(`app.cli_live._cluster_flags`) read into the room's `LiveOptions`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from app.verbs import BAD_INPUT, UNREACHABLE, UNTIL, VERBS

if TYPE_CHECKING:
    from app.config import Config
    from app.verbs.backend import BackendOptions

COMMANDS = frozenset({"status", "wait", "watch", "serve", *VERBS})
#: The cluster flags as they are spelled and the attribute argparse keeps each in.
CLUSTER_FLAGS = (
    ("--kubeconfig", "kubeconfig"),
    ("--context", "context"),
    ("-n", "namespace"),
    ("-A", "all_namespaces"),
    ("--prometheus", "prometheus"),
    ("--redis", "redis"),
)
#: The wall never asks the engine for more than one snapshot per this many real seconds.
REFRESH_FLOOR = 1.0


def _backend_flags(p: argparse.ArgumentParser) -> None:
    from app.scenario_names import DEFAULT_SCENARIO

    p.add_argument(
        "--demo",
        nargs="?",
        const=DEFAULT_SCENARIO,
        default=None,
        metavar="SCENARIO",
        help=f"run on the simulator, on a virtual clock (scenario default: {DEFAULT_SCENARIO})",
    )
    p.add_argument("--seed", type=int, default=None, help="demo: random seed (default: the scenario's)")
    p.add_argument(
        "--at",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="demo: simulated seconds to run the scenario before the verb looks or acts",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line (see the README)")
    p.add_argument("--config", default=None, metavar="FILE", help="shiftroom.yaml to read")
    _live_flags(p)


def _live_flags(p: argparse.ArgumentParser) -> None:
    """The room's cluster flags (one definition, `app.cli_live`), and its Prometheus and Redis."""
    from app.cli_live import _cluster_flags

    _cluster_flags(p)
    p.add_argument("--prometheus", default=None, metavar="URL", help="metrics from Prometheus (cluster only)")
    p.add_argument("--redis", default=None, metavar="URL", help="flags, experiments and audit in Redis (cluster only)")


def add_parsers(sub: Any) -> None:  # argparse's _SubParsersAction of the CLI's own parser class
    status = sub.add_parser("status", help="print every rollout (or one) and exit")
    status.add_argument("target", nargs="?", default=None, metavar="TARGET", help="name or namespace/name")
    _backend_flags(status)
    wait = sub.add_parser("wait", help="wait until a rollout reaches a state; the exit code says how it ended")
    wait.add_argument("target", metavar="TARGET", help="name or namespace/name")
    wait.add_argument("--until", required=True, choices=UNTIL, help="the state to wait for")
    wait.add_argument("--timeout", default="30m", help="give up after this long (90s, 30m, 1h; default 30m)")
    _backend_flags(wait)
    watch = sub.add_parser("watch", help="a read-only wall: one tile per rollout, health and a large clock")
    _watch_flags(watch)
    serve = sub.add_parser("serve", help="the room (or --watch, the wall) in a browser through textual-serve")
    serve.add_argument("--watch", action="store_true", help="serve the read-only wall instead of the room")
    serve.add_argument("--read-only", action="store_true", help="serve the room read-only")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; others need "
        "--watch or --read-only: textual-serve has no authentication)",
    )
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--demo", default=None, metavar="SCENARIO", help="scenario of the simulated room")
    serve.add_argument("--cycle", type=float, default=0.0, metavar="SECONDS", help="--watch: rotate pages")
    serve.add_argument("--config", default=None, metavar="FILE", help="shiftroom.yaml to read")
    _live_flags(serve)
    for verb in VERBS:
        one = sub.add_parser(verb, help=f"{verb} a rollout (destructive ones need --yes without a terminal)")
        one.add_argument("target", metavar="TARGET", help="name or namespace/name")
        one.add_argument("--reason", required=True, help="why, for the audit trail")
        one.add_argument("--yes", action="store_true", help="confirm a destructive command without asking")
        _backend_flags(one)


def _watch_flags(p: argparse.ArgumentParser) -> None:
    from app.scenario_names import DEFAULT_SCENARIO, WATCH_SCENARIO

    p.add_argument(
        "--demo",
        nargs="?",
        const=WATCH_SCENARIO,
        default=None,
        metavar="SCENARIO",
        help=f"watch the simulator (scenario default: {WATCH_SCENARIO}; the room's default is {DEFAULT_SCENARIO})",
    )
    p.add_argument("--speed", type=float, default=10.0, help="demo: simulated seconds per real second (default 10)")
    p.add_argument("--seed", type=int, default=None, help="demo: random seed (default: the scenario's)")
    p.add_argument(
        "--cycle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="rotate through rollouts, flags and experiments every SECONDS (default: no rotation)",
    )
    p.add_argument(
        "--refresh",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help=f"seconds between two snapshots (default 2, at least {REFRESH_FLOOR:g})",
    )
    p.add_argument("--theme", default="wall", help="wall (default), dark or light")
    p.add_argument("--config", default=None, metavar="FILE", help="shiftroom.yaml to read")
    _live_flags(p)


def cluster_given(args: argparse.Namespace) -> list[str]:
    """The cluster flags given on the command line (as spelled)."""
    return [flag for flag, attr in CLUSTER_FLAGS if getattr(args, attr, None)]


def demo_and_cluster(given: list[str]) -> str:
    verb = "does" if len(given) == 1 else "do"
    return f"--demo runs on the simulator, so {', '.join(given)} {verb} not apply; drop one or the other"


def backend_options(args: argparse.Namespace, read_only: bool, config: Config | None = None) -> BackendOptions:
    """The one place the backend choice is read from the command line: `--demo`, else the cluster."""
    from app.verbs.backend import BackendOptions

    if args.demo is None:
        if args.at:
            raise ValueError("--at only applies to --demo")
        if args.seed is not None:
            raise ValueError("--seed only applies to --demo")
        return BackendOptions(read_only=read_only, live=live_options(args, config), config=config)
    given = cluster_given(args)
    if given:
        raise ValueError(demo_and_cluster(given))
    demo = args.demo
    if demo == "":
        from app.scenario_names import DEFAULT_SCENARIO

        demo = DEFAULT_SCENARIO
    return BackendOptions(demo=demo, seed=args.seed, at=args.at, read_only=read_only)


def live_options(args: argparse.Namespace, config: Config | None) -> Any:
    """The room's `LiveOptions` from the same flags (`app.cli_live`)."""
    from app.cli_live import _options
    from app.config import Config

    return _options(args, config or Config())


def run(args: argparse.Namespace, config: Config) -> int:
    from app.verbs.backend import NoBackend, Unreachable
    from app.verbs.targets import UnknownTarget, parse_duration

    try:
        if args.command == "watch":
            return watch(args, config)
        if args.command == "serve":
            from app.verbs.serve import Refused, ServeOptions, serve

            try:
                return serve(
                    ServeOptions(
                        watch=args.watch,
                        read_only=args.read_only or config.read_only,
                        host=args.host,
                        port=args.port,
                        scenario=args.demo,
                        cycle=args.cycle,
                        cluster=serve_cluster_args(args),
                    )
                )
            except Refused as err:
                return _fail(args, str(err), BAD_INPUT)
        if args.command == "status":
            from app.verbs.status import status

            return asyncio.run(status(backend_options(args, True, config), args.target, args.json))
        if args.command == "wait":
            from app.verbs.wait import wait

            timeout = parse_duration(args.timeout)
            options = backend_options(args, True, config)
            return asyncio.run(wait(options, args.target, args.until, timeout, args.json))
        from app.verbs.act import act

        options = backend_options(args, config.read_only, config)
        options.drive = args.target
        return asyncio.run(
            act(
                options,
                args.command,
                args.target,
                args.reason,
                args.yes,
                args.json,
            )
        )
    except (UnknownTarget, NoBackend) as err:
        return _fail(args, str(err), BAD_INPUT)
    except ValueError as err:
        return _fail(args, f"shiftroom: {err}.", BAD_INPUT)
    except Unreachable as err:
        return _fail(args, str(err), UNREACHABLE)


def _fail(args: argparse.Namespace, sentence: str, code: int) -> int:
    from app.sanitize import clean
    from app.verbs.report import emit

    print(clean(sentence), file=sys.stderr)
    if getattr(args, "json", False):
        emit({"kind": "error", "error": sentence, "exit": code})
    return code


def watch_app(args: argparse.Namespace, config: Config | None = None) -> object:
    """The wall's App on read-only backends: the simulator with `--demo`, else the current kubeconfig
    context (raises NoBackend, Unreachable or ValueError with one sentence)."""
    import themes
    from app.wall import WatchApp

    if args.theme not in themes.names():
        raise ValueError(f"unknown theme {args.theme!r}; choose one of {', '.join(themes.names())}")
    if args.cycle < 0 or args.speed <= 0:
        raise ValueError("--cycle must be 0 or more and --speed more than 0")
    refresh = max(REFRESH_FLOOR, args.refresh)
    if args.demo is None:
        return WatchApp(_live_wall_engine(args, config, refresh), theme=args.theme, cycle=args.cycle)
    given = cluster_given(args)
    if given:
        raise ValueError(demo_and_cluster(given))
    from app.factory import RoomOptions, make_demo
    from app.verbs.backend import NoBackend
    from backends.sim.scenario import ScenarioError

    options = RoomOptions(
        scenario=args.demo, speed=args.speed, seed=args.seed, theme=args.theme, read_only=True, publish_hz=1.0 / refresh
    )
    try:
        demo = make_demo(options)
    except ScenarioError as err:
        raise NoBackend(f"shiftroom: {err}") from None
    return WatchApp(demo.engine, theme=args.theme, cycle=args.cycle, simulated=True)


def _live_wall_engine(args: argparse.Namespace, config: Config | None, refresh: float) -> Any:
    """The room's live engine, read-only, on the cluster flags: preflight in its own loop, as the room does."""
    import dataclasses

    from app.config import load_config
    from app.verbs.live_session import built, connected

    if args.seed is not None:
        raise ValueError("--seed only applies to --demo")
    config = config or load_config(getattr(args, "config", None))
    options = dataclasses.replace(live_options(args, config), read_only=True)
    engine = built(asyncio.run(connected(options, config)), options, config)
    engine.publish_every = max(engine.publish_every, refresh)  # the wall's refresh floor
    return engine


def watch(args: argparse.Namespace, config: Config | None = None) -> int:
    from app.cli import run_app

    return run_app(watch_app(args, config))  # a crash inside the wall: one sentence, a traceback file, exit 70


def serve_cluster_args(args: argparse.Namespace) -> tuple[str, ...]:
    """The cluster flags given to `serve`, for the command line each browser tab runs."""
    out: list[str] = []
    for flag, attr in CLUSTER_FLAGS:
        value = getattr(args, attr, None)
        if value is True:
            out.append(flag)
        elif value:
            out += [flag, str(value)]
    if out and getattr(args, "config", None):
        out += ["--config", str(args.config)]
    return tuple(out)

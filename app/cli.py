"""`shiftroom` (also installed as `kubectl-shiftroom`, so `kubectl shiftroom` works)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from app.sanitize import clean

if TYPE_CHECKING:
    from app.config import Config, PrometheusConfig
    from app.factory import RoomOptions
    from app.screens.opening import Opening

USAGE_ERROR = 2


class UsageError(Exception):
    """Bad input from the user: one sentence, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one sentence, no usage dump
        raise UsageError(f"shiftroom: {message} (see `shiftroom --help`).")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shiftroom")
    except PackageNotFoundError:
        return "0+unknown"


class _VersionAction(argparse.Action):
    """`--version`: the installed version, looked up only when asked for (importlib.metadata is not light)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        print(f"shiftroom {_version()}")
        parser.exit()


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number from 1 to 65535")
    return value


def build_parser(only_demo: bool = False) -> argparse.ArgumentParser:
    """The whole command line; `only_demo` leaves out the subcommands other than `demo` (and `room`'s root
    flags, which every command reads): `shiftroom demo` parses its line without building the verbs' parsers."""
    p = _Parser(prog="shiftroom", description="A terminal control room for progressive delivery.")
    p.add_argument("--version", action=_VersionAction, help="show the version and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    demo = sub.add_parser("demo", help="run the room on the embedded simulated cluster")
    demo.add_argument("--scenario", default=None, help="built-in scenario name or a scenario YAML file")
    demo.add_argument("--speed", type=_positive, default=10.0, help="simulated seconds per real second (default 10)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    demo.add_argument("--theme", default=None, help="dark, light or wall (default: config, else dark)")
    demo.add_argument("--read-only", action="store_true", help="watch only: the backends refuse every write")
    demo.add_argument(
        "--metrics-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="also serve the simulated traffic as Istio metrics on 127.0.0.1:PORT",
    )
    demo.add_argument("--headless", action="store_true", help="no screen: run on the virtual clock")
    demo.add_argument("--until-settled", action="store_true", help="headless: stop once every target has settled")
    demo.add_argument("--duration", type=_positive, default=None, help="headless: simulated seconds to run at most")
    demo.add_argument("--json", action="store_true", help="headless: print the result as one JSON object")

    for cmd in (demo,):
        cmd.add_argument("--config", default=None, metavar="FILE", help="shiftroom.yaml to read")
        cmd.add_argument(
            "--redis",
            default=None,
            metavar="URL",
            help="flags, experiments and audit in Redis (or SHIFTROOM_REDIS_URL)",
        )
        cmd.add_argument(
            "--prometheus", default=None, metavar="URL", help="metrics from Prometheus (or SHIFTROOM_PROMETHEUS_URL)"
        )

    from app import cli_live

    cli_live.add_parsers(p, sub)
    if only_demo:
        return p
    sub.add_parser("scenarios", help="list the built-in scenarios")
    from app import cli_store

    cli_store.add_parsers(sub)
    from app import cli_verbs

    cli_verbs.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Exit 0 on success, 2 with one sentence for bad input, 70 with one sentence and a saved traceback on a crash."""
    from app import crashlog

    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        print(clean(str(err)), file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a crash: one sentence here, the traceback in a file, never exit 0
        print(crashlog.sentence(exc, crashlog.save(exc, context=f"argv: {argv!r}")), file=sys.stderr)
        return crashlog.CRASH_EXIT


def _check_args(args: argparse.Namespace) -> None:
    """The values every subcommand shares, checked exactly as the config file's are (one validator)."""
    for option in ("redis", "prometheus"):
        value = getattr(args, option, None)
        if value is not None:
            from app.config import check_http_url, check_redis_url

            check = check_redis_url if option == "redis" else lambda url: check_http_url(url, "the Prometheus URL")
            try:
                check(value)
            except ValueError as err:
                raise UsageError(f"shiftroom: --{option}: {err}.") from None
    limit = getattr(args, "limit", None)
    if args.command == "audit" and limit is not None and limit < 1:
        raise UsageError(f"shiftroom: --limit must be 1 or more, not {limit}.")


def _binding_ids() -> set[str]:
    """Every key binding id the room has (what a keymap entry may name)."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    import app.room  # noqa: F401 - imports every screen and widget, so their classes are known
    from app.screens import flag_editor, kill_switch  # noqa: F401 - the two the room imports when first opened

    ids: set[str] = set()
    todo: list[type] = [DOMNode]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        ids.update(b.id for b in getattr(cls, "BINDINGS", ()) if isinstance(b, Binding) and b.id)
    return ids


def run_app(app: Any) -> int:
    """Run the Textual app; an exception inside it ends in one sentence, a saved traceback and exit 70."""
    import io

    from rich.console import Console

    from app import crashlog

    app.error_console = Console(file=io.StringIO(), markup=False, highlight=False)  # no traceback on the terminal
    app.run()
    error = getattr(app, "_exception", None)
    if error is None and (app.return_code or 0) != 0:
        error = RuntimeError(f"the app exited with code {app.return_code}: {app.error_console.file.getvalue()[-300:]}")
    if error is not None:
        print(crashlog.sentence(error, crashlog.save(error)), file=sys.stderr)
        return crashlog.CRASH_EXIT
    undelivered = getattr(getattr(app, "engine", None), "undelivered", 0)
    if undelivered:
        print(
            f"shiftroom: {undelivered} notification or webhook deliveries could not go out before the room "
            "closed (the destination was slow or down: the header's entry for it said why).",
            file=sys.stderr,
        )
    return 0


def _main(argv: list[str]) -> int:
    args = build_parser(only_demo=argv[:1] == ["demo"]).parse_args(argv)
    _check_args(args)
    if args.command == "scenarios":
        from backends.sim.scenario import list_scenarios

        for name, description in list_scenarios():
            print(f"{name:<20} {description}")
        return 0
    if args.command == "demo":
        opening = _opening(args)
        if opening is not None:
            return _open_demo(args, opening)
    from app import cli_store
    from app.config import ConfigError, load_config

    try:
        config = load_config(getattr(args, "config", None))
    except ConfigError as err:
        raise UsageError(str(err)) from None
    if args.command in cli_store.COMMANDS:
        try:
            return cli_store.run(args, config)
        except cli_store.StoreCommandError as err:
            raise UsageError(str(err)) from None
    if args.command in (None, "room", "doctor"):
        from app import cli_live

        try:
            return cli_live.run(args, config)
        except cli_live.LiveUnavailable as err:
            print(str(err), file=sys.stderr)
            return cli_live.UNREACHABLE
    if args.command == "demo":
        return _demo(args, config)
    from app import cli_verbs

    if args.command in cli_verbs.COMMANDS:
        return cli_verbs.run(args, config)
    raise UsageError(f"shiftroom: unknown command {args.command!r}.")


def _audit_key(config: Config) -> bytes | None:
    from app import cli_store

    try:
        return cli_store.audit_key(config)
    except cli_store.StoreCommandError as err:
        raise UsageError(str(err)) from None


def _demo(args: argparse.Namespace, config: Config) -> int:
    from app.scenario_names import DEFAULT_SCENARIO
    from backends.sim.scenario import ScenarioError, load_scenario

    scenario = getattr(args, "scenario", None) or DEFAULT_SCENARIO
    try:
        load_scenario(scenario)  # validate before any screen appears
    except ScenarioError as err:
        raise UsageError(str(err)) from None
    theme = getattr(args, "theme", None) or config.theme
    import themes
    from app.config import ConfigError, check_names

    try:
        check_names(config, themes.names(), _binding_ids() if config.keymap else ())
    except ConfigError as err:
        raise UsageError(f"shiftroom: {err}") from None
    _check_theme(theme)
    options = _demo_options(args, config, scenario, theme)
    if getattr(args, "headless", False):
        from app.headless import run

        if options.prometheus is not None or options.redis_url:
            raise UsageError(
                "shiftroom: --headless runs on the virtual clock with the simulator's own metrics "
                "and store; drop --prometheus/--redis (and their settings) for a headless run."
            )
        result = run(options, until_settled=args.until_settled, duration=args.duration)
        if args.json:
            print(json.dumps(result))
        else:
            from app.headless import timeline_text

            print("\n".join(timeline_text(result)))
        return 0
    from app.factory import make_app
    from app.wiring import WiringError

    try:
        app = make_app(options)
    except WiringError as err:
        raise UsageError(f"shiftroom: {err}") from None
    except OSError as err:
        raise UsageError(
            f"shiftroom: cannot serve metrics on 127.0.0.1:{options.metrics_port}: "
            f"{err.strerror or err}; pick another --metrics-port."
        ) from None
    return run_app(app)


def _check_theme(theme: str) -> None:
    import themes

    if theme not in themes.names():
        raise UsageError(f"shiftroom: unknown theme {theme!r}; choose one of {', '.join(themes.names())}.")


def _demo_options(args: argparse.Namespace, config: Config, scenario: str, theme: str) -> RoomOptions:
    from app.factory import RoomOptions

    return RoomOptions(
        scenario=scenario,
        speed=getattr(args, "speed", 10.0),
        seed=getattr(args, "seed", None),
        theme=theme,
        read_only=getattr(args, "read_only", False) or config.read_only,
        metrics_port=getattr(args, "metrics_port", None),
        redis_url=getattr(args, "redis", None) or (config.redis.url if config.redis else None),
        prometheus=_prometheus(args, config),
        keymap=dict(config.keymap),
        notify=config.notify,
        audit_key=_audit_key(config),
    )


def _opening(args: argparse.Namespace) -> Opening | None:
    """The first frame of a demo that has nothing to validate first, painted before the engine is built.

    That is a built-in scenario, no config file and no setting from the environment but the theme, no
    backend flags and no `--headless`; anything else is read and checked first (`_demo`), so that bad
    input gets its one sentence before any screen.
    """
    import os

    from app.config_file import OVERRIDES, config_path
    from app.scenario_names import DEFAULT_SCENARIO
    from backends.sim.roster import roster

    flags = ("headless", "redis", "prometheus", "metrics_port")
    if any(getattr(args, flag, None) for flag in flags) or config_path(getattr(args, "config", None), os.environ):
        return None
    if any(os.environ.get(name) for name in OVERRIDES if name != "SHIFTROOM_THEME"):
        return None
    found = roster(getattr(args, "scenario", None) or DEFAULT_SCENARIO)
    if found is None:
        return None
    from app.enums import Mode
    from app.screens.opening import Opening

    read_only = bool(getattr(args, "read_only", False))
    return Opening(
        rows=found.rows,
        mode=Mode.READ_ONLY if read_only else Mode.DEMO,
        namespace=found.namespace,
        scenario=found.scenario,
        read_only=read_only,
    )


def _open_demo(args: argparse.Namespace, opening: Opening) -> int:
    """`shiftroom demo`, first frame first: the config, the scenario and the engine come right after it."""
    import os

    import themes

    theme = getattr(args, "theme", None) or os.environ.get("SHIFTROOM_THEME") or themes.DEFAULT
    _check_theme(theme)

    def build() -> Any:
        from app.config import load_config
        from app.factory import make_demo
        from app.scenario_names import DEFAULT_SCENARIO

        config = load_config(getattr(args, "config", None))  # nothing to read: the defaults
        options = _demo_options(args, config, getattr(args, "scenario", None) or DEFAULT_SCENARIO, theme)
        return make_demo(options).engine

    from app.room import ShiftroomApp

    return run_app(ShiftroomApp.opening(opening, build, theme=theme))


def _prometheus(args: argparse.Namespace, config: Config) -> PrometheusConfig | None:
    from app.config import PrometheusConfig

    url = getattr(args, "prometheus", None)
    if url:
        base = config.prometheus.model_dump() if config.prometheus else {}
        try:
            return PrometheusConfig(**{**base, "url": url})
        except ValueError as err:
            msg = str(err.errors()[0]["msg"]) if hasattr(err, "errors") else str(err)
            raise UsageError(f"shiftroom: --prometheus: {msg.removeprefix('Value error, ')}.") from None
    return config.prometheus


if __name__ == "__main__":
    sys.exit(main())

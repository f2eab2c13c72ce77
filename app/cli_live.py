"""`shiftroom` / `shiftroom room` (the room on the current kubeconfig context) and `shiftroom doctor`.

kubectl plugins get kubectl's environment, not its flags, so `kubectl shiftroom` reads
`$KUBECONFIG` and the current context exactly as `shiftroom` does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.config import Config

DOCTOR_DENIED = 1
UNREACHABLE = 4


def _cluster_flags(p: argparse.ArgumentParser, root: bool = False) -> None:
    d = argparse.SUPPRESS if not root else None
    p.add_argument(
        "--kubeconfig", default=d, metavar="FILE", help="kubeconfig (else $KUBECONFIG, ~/.kube/config, in-cluster)"
    )
    p.add_argument("--context", default=d, help="kubeconfig context (default: the current context)")
    p.add_argument("-n", "--namespace", default=d, help="namespace(s) in view, comma-separated")
    p.add_argument("-A", "--all-namespaces", action="store_true", default=d if d else False, help="every namespace")


def add_parsers(root: argparse.ArgumentParser, sub: Any) -> None:
    """The live flags on the bare command and on `room`, and the `doctor` subcommand."""
    _cluster_flags(root, root=True)
    root.add_argument(
        "--read-only", action="store_true", default=False, help="watch only: the cluster backend refuses every write"
    )
    room = sub.add_parser("room", help="open the room on the current kubeconfig context (the default)")
    _cluster_flags(room)
    room.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="watch only: the cluster backend refuses every write",
    )
    room.add_argument("--theme", default=None, help="dark, light or wall (default: config, else dark)")
    doctor = sub.add_parser("doctor", help="check the permissions and CRDs Shiftroom needs on the cluster")
    _cluster_flags(doctor)
    doctor.add_argument(
        "--read-only", action="store_true", default=argparse.SUPPRESS, help="check only what a read-only room needs"
    )
    doctor.add_argument("--json", action="store_true", help="print the report as one JSON object")
    for cmd in (room, doctor):
        cmd.add_argument("--config", default=None, metavar="FILE", help="shiftroom.yaml to read")
    room.add_argument("--redis", default=None, metavar="URL", help="flags, experiments and audit in Redis")
    room.add_argument("--prometheus", default=None, metavar="URL", help="metrics from Prometheus")


def _options(args: argparse.Namespace, config: Config) -> Any:
    from app.cli import _prometheus
    from app.live import LiveOptions

    return LiveOptions(
        kubeconfig=getattr(args, "kubeconfig", None),
        context=getattr(args, "context", None),
        namespace=getattr(args, "namespace", None),
        all_namespaces=bool(getattr(args, "all_namespaces", False)),
        read_only=bool(getattr(args, "read_only", False)) or config.read_only,
        prometheus=_prometheus(args, config),
        redis_url=getattr(args, "redis", None) or (config.redis.url if config.redis else None),
    )


def run(args: argparse.Namespace, config: Config) -> int:
    if args.command == "doctor":
        return doctor(args, config)
    return room(args, config)


def room(args: argparse.Namespace, config: Config) -> int:
    import themes
    from app.cli import UsageError
    from app.live import LiveError, build, preflight
    from app.wiring import WiringError

    theme = getattr(args, "theme", None) or config.theme
    if theme not in themes.names():
        raise UsageError(f"shiftroom: unknown theme {theme!r}; choose one of {', '.join(themes.names())}.")
    options = _options(args, config)
    try:
        pre = asyncio.run(preflight(options, config))
    except LiveError as err:
        raise LiveUnavailable(f"shiftroom: {err}") from None
    try:
        engine = build(pre, options, config)
    except WiringError as err:
        raise UsageError(f"shiftroom: {err}") from None
    from app.room import ShiftroomApp

    app = ShiftroomApp(engine, theme=theme)
    if config.keymap:
        app.set_keymap(dict(config.keymap))
    app.run()
    return 0


class LiveUnavailable(Exception):
    """No cluster to open the room on: one sentence, exit code 4."""


def doctor(args: argparse.Namespace, config: Config) -> int:
    options = _options(args, config)
    try:
        report = asyncio.run(_doctor(options, config))
    except LiveUnavailable as err:
        print(str(err))
        return UNREACHABLE
    if getattr(args, "json", False):
        print(json.dumps(report.to_json(), indent=2))
    else:
        _print(report)
    return 0 if report.ok else DOCTOR_DENIED


async def _doctor(options: Any, config: Config) -> Any:
    from app.live import LiveError, preflight
    from backends.base import BackendError
    from backends.kubernetes import doctor as kdoctor
    from backends.kubernetes.client import Api

    try:
        pre = await preflight(options, config)
    except LiveError as err:
        raise LiveUnavailable(f"shiftroom doctor: {err}") from None
    api = Api(pre.configuration, pre.where.server)
    api.identity = pre.identity
    try:
        return await kdoctor.run(api, pre.namespaces, read_only=options.read_only)
    except BackendError as err:
        raise LiveUnavailable(f"shiftroom doctor: {err.sentence}") from None
    finally:
        await api.close()


def _print(report: Any) -> None:
    print(f"identity: {report.identity or '(the API server did not say)'}")
    print(f"{'verb':<8} {'resource':<44} {'namespace':<16} {'allowed':<8} needed for")
    for r in report.rows:
        mark = "yes" if r.allowed else ("NO" if r.needed else "no")
        print(f"{r.verb:<8} {r.resource:<44} {r.namespace or '(all)':<16} {mark:<8} {r.why}")
    print()
    print(f"{'installed':<10} {'crd':<44} for")
    for c in report.crds:
        print(f"{'yes' if c.installed else 'no':<10} {c.crd:<44} {c.what}")
    print()
    if report.ok:
        print("Everything Shiftroom needs is allowed.")
    else:
        print(f"{len(report.missing)} needed permission(s) denied; deploy/rbac.yaml has the roles to bind.")

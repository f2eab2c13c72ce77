"""`shiftroom serve`: the room (or, with `--watch`, the wall) in a browser, through textual-serve.

textual-serve starts one `shiftroom` process per browser tab and has no
authentication of its own. It serves the simulator unless cluster flags are given
(`--kubeconfig`, `--context`, `-n`, `-A`, ...): then each tab opens the wall (or
the room) on that cluster. Having no authentication, the server binds 127.0.0.1
unless what it serves is read-only; anything else is refused with one sentence.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from dataclasses import dataclass

from app.scenario_names import WATCH_SCENARIO

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class Refused(Exception):
    """The server would be unsafe as asked: one sentence, bad input."""


@dataclass(frozen=True)
class ServeOptions:
    watch: bool = False
    read_only: bool = False
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    scenario: str | None = None
    cycle: float = 0.0
    cluster: tuple[str, ...] = ()  # cluster flags (`--kubeconfig F`, `-n NS`, ...): serve the cluster, not the demo


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def command(options: ServeOptions) -> list[str]:
    """The command line each browser tab runs (the same interpreter, so the same install)."""
    base = [sys.executable, "-m", "app.cli"]
    live = bool(options.cluster) and options.scenario is None
    if options.watch:
        argv = (
            [*base, "watch", *options.cluster]
            if live
            else [*base, "watch", "--demo", options.scenario or WATCH_SCENARIO]
        )
        return argv + (["--cycle", f"{options.cycle:g}"] if options.cycle else [])
    if live:
        argv = [*base, "room", *options.cluster]
    else:
        argv = [*base, "demo"] + (["--scenario", options.scenario] if options.scenario else [])
    return argv + (["--read-only"] if options.read_only else [])


def check(options: ServeOptions) -> None:
    if not loopback(options.host) and not (options.watch or options.read_only):
        raise Refused(
            f"shiftroom: refusing to serve a room that can act on {options.host}: textual-serve has no "
            "authentication, so a writable room binds 127.0.0.1 only; add --watch or --read-only to serve "
            "it to others, or reach 127.0.0.1 through an SSH tunnel."
        )
    if not 0 < options.port < 65536:
        raise Refused(f"shiftroom: --port {options.port} is not a TCP port (1-65535).")


def serve(options: ServeOptions) -> int:
    check(options)
    from textual_serve.server import Server

    title = "Shiftroom watch" if options.watch else "Shiftroom"
    server = Server(shlex.join(command(options)), host=options.host, port=options.port, title=title)
    server.serve()
    return 0

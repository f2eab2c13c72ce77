"""`shiftroom serve`: the room (or, with `--watch`, the wall) in a browser, through textual-serve.

textual-serve starts one `shiftroom` process per browser tab and has no
authentication of its own, so the server binds 127.0.0.1 unless the room it
serves is read-only; anything else is refused with one sentence.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from dataclasses import dataclass

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
    if options.watch:
        argv = [*base, "watch", "--demo", options.scenario or "loop"]
        return argv + (["--cycle", f"{options.cycle:g}"] if options.cycle else [])
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

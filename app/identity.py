"""Who did it: the operator behind a key press, and the room instance behind an automatic decision.

The operator is the OS account of the process's user id (not `$USER`, which
anyone can set), as `user@host`; automatic decisions name the room instance,
`shiftroom@host#pid`, so the decisions of two rooms can be told apart.
"""

from __future__ import annotations

import os
import pwd
import socket


def host() -> str:
    return socket.gethostname() or "localhost"


def operator() -> str:
    """`user@host` of the account this process runs as."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:  # no passwd entry (some containers): the uid itself is still true
        user = f"uid{uid}"
    return f"{user}@{host()}"


def instance() -> str:
    """`shiftroom@host#pid`: the actor of this room's automatic decisions."""
    return f"shiftroom@{host()}#{os.getpid()}"

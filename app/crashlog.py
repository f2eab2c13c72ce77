"""Where a crash goes: a traceback file in the user's state directory, and one sentence on the terminal.

`save(exc)` writes the full traceback to `$XDG_STATE_HOME/shiftroom/crash-<time>-<pid>.txt`
(`~/.local/state/shiftroom/` by default; the system's temporary directory when that
cannot be written) and returns its path; `sentence(exc, path)` is what the user reads.
"""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections.abc import Mapping
from pathlib import Path

from app.sanitize import clean

#: Exit code of a crash (BSD `EX_SOFTWARE`): never 0, and distinct from bad input (2).
CRASH_EXIT = 70


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/shiftroom`, else `~/.local/state/shiftroom`."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "shiftroom"


def save(exc: BaseException, *, context: str = "") -> Path:
    """Write `exc`'s traceback (and `context`) to a new file; its path. Never raises."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if context:
        text = f"{context}\n\n{text}"
    name = f"crash-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}.txt"
    for folder in (state_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8", errors="backslashreplace")
            return path
        except OSError:
            continue
    return Path(os.devnull)


def sentence(exc: BaseException, path: Path) -> str:
    """`shiftroom stopped on an internal error (KeyError: 'x'); the traceback is in PATH. ...`"""
    detail = " ".join(str(exc).split())[:160]
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return clean(
        f"shiftroom stopped on an internal error ({what}); the traceback is in {path}. Please report it with that file."
    )

"""What the server fixtures share: finding a Debian binary, and a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket

import pytest


def find_binary(name: str) -> str | None:
    """On PATH, else where the Debian package puts it (sbin-less PATHs in some CI shells)."""
    found = shutil.which(name)
    if found:
        return found
    debian = f"/usr/bin/{name}"
    return debian if os.access(debian, os.X_OK) else None


def require_binary(name: str, package: str) -> str:
    """The binary, or a skip (a failure when CI is set: `make test` installs it there)."""
    binary = find_binary(name)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed and CI is set: `make test` installs it (apt-get install {package}).")
        pytest.skip(f"{name} is not installed; `make test` installs it (or apt-get install {package}).")
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port

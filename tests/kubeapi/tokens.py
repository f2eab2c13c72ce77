"""Tokens an outside issuer hands out, checked the way the API server checks a bound or webhook token.

The test exec plugin (tests/exec_credential.py) appends every credential it prints to a JSON-lines file
(`{"token": ..., "expirationTimestamp": ...}`); `IssuedTokens` over that file authenticates each token as
one user until its expirationTimestamp (on the server's clock), and not at all once it was revoked —
afterwards the request gets 401 Unauthorized, as kube-apiserver answers an expired token.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .rbac import User


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class IssuedTokens:
    path: Path
    user: User
    now: Callable[[], dt.datetime]
    revoked: set[str] = field(default_factory=set)

    def authenticate(self, token: str) -> User | None:
        if not token or token in self.revoked:
            return None
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return None
        for line in lines:
            entry = json.loads(line) if line.strip() else {}
            if entry.get("token") != token:
                continue
            expiry = entry.get("expirationTimestamp")
            if expiry and self.now() >= _time(expiry):
                return None
            return self.user
        return None

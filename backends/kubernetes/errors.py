"""API failures as the one-sentence errors of `backends.base`.

403 names the verb, the resource, the namespace and the identity; 404 is
`NotFound`, 409 `Conflict`, 422 `Invalid`; refused connections, timeouts,
429 and 5xx are `Unavailable` with the reason.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from backends.base import BackendError, Conflict, Invalid, NotFound, Unavailable
from backends.kubernetes.resources import Res

NAME = "kubernetes"


class Forbidden(BackendError):
    """The identity may not do this (HTTP 403)."""

    def __init__(self, sentence: str, verb: str, resource: str, namespace: str) -> None:
        super().__init__(NAME, sentence)
        self.verb = verb
        self.resource = resource
        self.namespace = namespace


class Gone(BackendError):
    """The resourceVersion a watch asked for is too old (HTTP 410): list again."""


class Unauthorized(BackendError):
    """The API server does not accept the credentials (HTTP 401)."""


@dataclass(frozen=True)
class What:
    """The request being made, to name it in a sentence."""

    verb: str  # get, list, watch, create, update, patch, delete
    res: Res
    namespace: str | None = None
    name: str = ""
    sub: str = ""

    @property
    def resource(self) -> str:
        r = f"{self.res.plural}.{self.res.group}" if self.res.group else self.res.plural
        return f"{r}/{self.sub}" if self.sub else r

    @property
    def obj(self) -> str:
        key = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.res.kind} {key}" if self.name else f"{self.res.kind} objects"

    @property
    def where(self) -> str:
        return f"namespace {self.namespace}" if self.namespace else "all namespaces"


def status_message(body: Any) -> str:
    """The `message` of a Status object, else the body as text (one line, bounded)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("message"):
        text = str(data["message"])
    return " ".join(text.split())[:300]


def from_status(status: int, body: Any, what: What, identity: str) -> BackendError:
    msg = status_message(body)
    who = identity or "this identity"
    if status == 403:
        sentence = (
            f"{who} may not {what.verb} {what.resource} in {what.where}; "
            "grant it (deploy/rbac.yaml) or open the room --read-only."
        )
        return Forbidden(sentence, what.verb, what.resource, what.namespace or "")
    if status == 401:
        return Unauthorized(
            NAME,
            f"The API server rejected the credentials ({msg or 'Unauthorized'}); "
            "log in again or pick another --context.",
        )
    if status == 404:
        return NotFound(NAME, f"{what.obj} was not found ({msg or 'not found'}).")
    if status == 409:
        return Conflict(NAME, f"{what.obj} changed since it was read ({msg or 'conflict'}); read it again and retry.")
    if status == 410:
        return Gone(NAME, f"The watch of {what.obj} is too old to resume ({msg or 'gone'}); listing again.")
    if status == 422 or status == 400:
        return Invalid(NAME, f"The API server refused to {what.verb} {what.obj}: {msg or 'invalid'}.")
    if status == 429 or status >= 500:
        return Unavailable(
            NAME,
            f"The API server could not {what.verb} {what.obj} (HTTP {status}: "
            f"{msg or 'unavailable'}); Shiftroom keeps retrying.",
        )
    return BackendError(NAME, f"The API server answered HTTP {status} to {what.verb} {what.obj}: {msg}.")


def translate(exc: BaseException, what: What, identity: str, server: str = "") -> BackendError:
    """Any exception of a request as a `BackendError` sentence."""
    if isinstance(exc, BackendError):
        return exc
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status > 0 and hasattr(exc, "body"):
        return from_status(status, getattr(exc, "body", ""), what, identity)
    at = f" at {server}" if server else ""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return Unavailable(
            NAME, f"The API server{at} did not answer in time to {what.verb} {what.obj}; Shiftroom keeps retrying."
        )
    reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    return Unavailable(NAME, f"The API server{at} is not reachable ({reason}); Shiftroom keeps retrying.")

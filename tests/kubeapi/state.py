"""Everything the server knows, shared by its handlers, its controller and the test controls."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .ops import Operations
from .rbac import Authorizer, User, default_cluster_roles
from .resources import Registry
from .store import Store


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes
    user: str = ""
    status: int = 0


class VirtualClock:
    """Wall time plus an offset the tests advance (progress deadlines, lease times)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset)

    def stamp(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class ServerState:
    history_window: int = 10_000
    bookmark_interval: float = 60.0
    store: Store = field(init=False)
    registry: Registry = field(default_factory=Registry)
    clock: VirtualClock = field(default_factory=VirtualClock)
    ops: Operations = field(init=False)
    authorizer: Authorizer = field(init=False)
    tokens: dict[str, User] = field(default_factory=dict)
    issuers: list[Any] = field(default_factory=list)  # IssuedTokens: tokens an exec plugin hands out
    revoked_serials: set[str] = field(default_factory=set)  # client certificates no longer accepted
    stalled: bool = False
    closing: bool = False
    reachable: bool = True
    latency: float = 0.0
    open_streams: dict[int, web.Request] = field(default_factory=dict)
    watch_queues: set[asyncio.Queue[Any]] = field(default_factory=set)
    requests: list[RequestRecord] = field(default_factory=list)
    proxy: Any = None
    controller: Any = None

    def __post_init__(self) -> None:
        self.store = Store(self.history_window)
        self.ops = Operations(self.store, self.registry, self.clock.stamp)
        self.authorizer = Authorizer(self.store)

    def seed(self) -> None:
        for ns in ("default", "kube-system", "kube-public"):
            self.ops.create(self.registry.types[("", "namespaces")], "", {"metadata": {"name": ns}})
        roles = self.registry.types[("rbac.authorization.k8s.io", "clusterroles")]
        for role in default_cluster_roles():
            self.ops.create(roles, "", role)

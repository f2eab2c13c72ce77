"""Opening and closing Flagger's load tester gates from the room: the proxy request, the state read-back,
the refusals. The cluster here records proxy calls and answers as the load tester does (pkg/loadtester/server.go:
202 on open/close, 200 "Approved" / 403 "Forbidden" on check), keeping each gate's state."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any, Literal

import yaml

from app.control.commands import RolloutCommand, Verb
from app.control.foreign import ForeignRollouts
from backends.base import ForeignObject
from tests.load_tester import LoadTester, with_gates

DATA = Path(__file__).parent / "foreign_data"
KEY = "microservices/microservices-canary"


class LoadTesterCluster:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str, str, bytes]] = []
        self.tester = LoadTester()
        self.patched: list[bytes] = []

    async def patch_object(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Any,
        patch_type: Literal["merge", "json", "strategic"],
        resource_version: str | None = None,
        subresource: str = "",
    ) -> ForeignObject:
        self.patched.append(patch)
        return ForeignObject(api_version=api_version, kind=kind, name=name, namespace=namespace)

    async def proxy(
        self,
        namespace: str,
        kind: Literal["pods", "services"],
        name: str,
        port: int | str,
        path: str,
        method: str = "GET",
        body: Any = None,
    ) -> tuple[int, str]:
        self.calls.append((namespace, kind, name, str(port), path, body))
        return self.tester.answer(path)


def gated_canary() -> list[ForeignObject]:
    body = with_gates(yaml.safe_load((DATA / "canary.yaml").read_text()))
    body["status"] = {"phase": "WaitingPromotion", "canaryWeight": 50, "failedChecks": 0}
    return [
        ForeignObject(
            api_version="flagger.app/v1beta1",
            kind="Canary",
            name="microservices-canary",
            namespace="microservices",
            body=copy.deepcopy(body),
            resource_version="7",
        )
    ]


def test_p_opens_the_promotion_gate_and_a_opens_the_rollback_gate() -> None:
    room, cluster, objects = ForeignRollouts(now=lambda: 0.0), LoadTesterCluster(), gated_canary()
    assert asyncio.run(room.gate_states(cluster, objects)) == {KEY: {"promotion": "closed", "rollback": "closed"}}
    preview = asyncio.run(room.preview(RolloutCommand(Verb.PROMOTE, KEY), objects))
    assert preview.possible and preview.destructive
    assert preview.lines[0] == "POST services/flagger-loadtester:80/proxy/gate/open in test (through the API server)"
    result = asyncio.run(room.execute(RolloutCommand(Verb.PROMOTE, KEY), cluster, "carol", objects, preview))
    assert result.ok and "No Kubernetes Event" in result.message  # this cluster cannot record one: said, not hidden
    body = b'{"name": "microservices-canary","namespace":"microservices"}'
    assert cluster.calls[-1] == ("test", "services", "flagger-loadtester", "80", "/gate/open", body)
    assert asyncio.run(room.execute(RolloutCommand(Verb.ABORT, KEY), cluster, "carol", objects)).ok
    assert cluster.calls[-1][4] == "/rollback/open"
    assert asyncio.run(room.gate_states(cluster, objects)) == {KEY: {"promotion": "open", "rollback": "open"}}
    close = RolloutCommand(Verb.CLOSE_GATE, KEY, gate="promotion")
    assert not asyncio.run(room.preview(close, objects)).destructive
    assert asyncio.run(room.execute(close, cluster, "carol", objects)).ok
    assert asyncio.run(room.gate_states(cluster, objects))[KEY]["promotion"] == "closed"
    assert cluster.patched == []  # gates never touch the Canary object
    audit = result.details["audit"]
    assert (audit.action, audit.after) == ("flagger promote", {"promotion gate": "open"})


def test_a_load_tester_that_refuses_is_one_sentence() -> None:
    class Refusing(LoadTesterCluster):
        async def proxy(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
            return 403, "Forbidden"

    room, objects = ForeignRollouts(now=lambda: 0.0), gated_canary()
    result = asyncio.run(room.execute(RolloutCommand(Verb.PROMOTE, KEY), Refusing(), "carol", objects))
    assert not result.ok
    assert result.message == (
        "load tester /gate/open on microservices/microservices-canary failed: "
        "flagger-loadtester.test answered 403 Forbidden to /gate/open; check the load tester "
        "and its namespace filter"
    )
    assert result.details["audit"].level.value == "error"


def test_commands_that_do_not_apply_say_why() -> None:
    room, objects = ForeignRollouts(now=lambda: 0.0), gated_canary()
    switch = asyncio.run(room.preview(RolloutCommand(Verb.SWITCH, KEY), objects))
    assert not switch.possible and switch.lines[0].startswith("Flagger has no 'switch': Canary microservices/")
    missing = asyncio.run(room.preview(RolloutCommand(Verb.PAUSE, "shop/nothing"), objects))
    assert missing.lines == ("shop/nothing is not a Flagger Canary or an Argo Rollout.",)


def test_rows_carry_images_from_the_deployments_and_the_gates_state() -> None:
    room, objects = ForeignRollouts(now=lambda: 0.0), gated_canary()
    images = {("microservices", "microservices"): "shop:2.0", ("microservices", "microservices-primary"): "shop:1.9"}
    (row,) = room.rollouts(objects, images=images, gates={KEY: {"promotion": "closed", "rollback": "open"}})
    assert (row.canary_image, row.stable_image) == ("shop:2.0", "shop:1.9")
    assert row.message == "Promotion gate closed; rollback gate open"
    (bare,) = room.rollouts(objects)
    assert (bare.canary_image, bare.message) == ("", "")

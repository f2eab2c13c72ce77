"""The embedded store: seed layout, version tokens, read-only, audit log, simulated users."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from app.clock import VirtualClock
from app.experiments import assign_variant, import_experiments
from app.model import AuditEvent
from backends.base import AuditLog, Conflict, Invalid, ReadOnly, Store, Unavailable
from backends.sim.population import Population
from backends.sim.store import ABSENT, SEED_EXPERIMENTS, SimAudit, SimStore

SEED_DOC = Path("/work/shared/seed/phase4-advanced-deployment.md")


def test_sim_backends_implement_the_protocols() -> None:
    assert isinstance(SimStore(VirtualClock()), Store)
    assert isinstance(SimAudit(), AuditLog)


async def test_seeded_flags_are_the_frontend_flags_in_seed_json() -> None:
    store = SimStore(VirtualClock())
    flags = {f.name: f for f in await store.list_flags()}
    assert list(flags) == ["ai-recommendations", "new-product-design"]
    assert all(f.valid for f in flags.values())
    npd = flags["new-product-design"]
    assert npd.enabled and npd.environments == ("production", "staging") and npd.percentage == 25
    assert "user-42" in flags["ai-recommendations"].user_whitelist
    raw, version = await store.get_flag_raw("new-product-design")
    assert raw is not None and "userWhitelist" not in raw and version != ABSENT


@pytest.mark.skipif(not SEED_DOC.exists(), reason="the seed document is not in this checkout")
def test_seeded_experiments_are_the_seed_configmap_verbatim() -> None:
    text = SEED_DOC.read_text(encoding="utf-8")
    block = text.split("experiments.json: |", 1)[1].split("```", 1)[0]
    assert dict(import_experiments(block)) == SEED_EXPERIMENTS
    assert list(SEED_EXPERIMENTS) == ["checkout-flow-redesign", "product-page-layout"]
    assert list(SEED_EXPERIMENTS["product-page-layout"]["traffic_split"]) == ["control", "variant_a", "variant_b"]


async def test_put_keeps_unknown_fields_and_bumps_the_version() -> None:
    store = SimStore(VirtualClock())
    raw, v1 = await store.get_flag_raw("new-product-design")
    assert raw is not None
    raw["owner"] = "team-checkout"
    raw["percentage"] = 50
    v2 = await store.put_flag_raw("new-product-design", raw, v1)
    assert v2 != v1
    again, v3 = await store.get_flag_raw("new-product-design")
    assert again == raw and v3 == v2
    again["percentage"] = 1  # the caller's copy is not the stored object
    assert (await store.get_flag_raw("new-product-design"))[0]["percentage"] == 50


async def test_stale_version_conflicts_and_create_only_refuses_existing() -> None:
    store = SimStore(VirtualClock())
    raw, v1 = await store.get_flag_raw("ai-recommendations")
    await store.put_flag_raw("ai-recommendations", {**raw, "percentage": 20}, v1)
    with pytest.raises(Conflict) as err:
        await store.put_flag_raw("ai-recommendations", {**raw, "percentage": 30}, v1)
    assert "changed since it was read" in str(err.value)
    assert (await store.get_flag_raw("ai-recommendations"))[0]["percentage"] == 20
    with pytest.raises(Conflict):
        await store.put_flag_raw("ai-recommendations", {"enabled": True}, ABSENT)
    assert await store.get_flag_raw("brand-new") == (None, ABSENT)
    v = await store.put_flag_raw("brand-new", {"enabled": True}, ABSENT)
    assert (await store.get_flag_raw("brand-new")) == ({"enabled": True}, v)
    await store.put_flag_raw("brand-new", {"enabled": False}, None)  # unconditional
    await store.delete_flag("brand-new", None)
    with pytest.raises(Conflict):
        await store.put_flag_raw("brand-new", {"enabled": True}, v)


async def test_bad_names_and_non_json_are_invalid() -> None:
    store = SimStore(VirtualClock())
    with pytest.raises(Invalid):
        await store.put_flag_raw("x:*", {"enabled": True}, None)
    with pytest.raises(Invalid):
        await store.put_flag_raw("x", {"enabled": object()}, None)
    with pytest.raises(Invalid):
        await store.put_flag_raw("x", ["not", "an", "object"], None)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        await store.put_experiment_raw("e", {"name": "E", "traffic_split": {"a": "half"}}, None)


async def test_read_only_store_refuses_every_write_and_changes_nothing() -> None:
    store = SimStore(VirtualClock(), read_only=True)
    raw, v = await store.get_flag_raw("new-product-design")
    for write in (
        store.put_flag_raw("new-product-design", {**raw, "enabled": False}, v),
        store.put_flag_raw("new-flag", {"enabled": True}, None),
        store.delete_flag("new-product-design", None),
        store.put_experiment_raw("e", SEED_EXPERIMENTS["product-page-layout"], None),
    ):
        with pytest.raises(ReadOnly):
            await write
    assert await store.get_flag_raw("new-product-design") == (raw, v)
    assert len(await store.list_experiments()) == 2


async def test_unavailable_store_says_so_until_it_returns() -> None:
    store = SimStore(VirtualClock())
    store.set_unavailable("The simulated Redis went away.")
    with pytest.raises(Unavailable, match="went away"):
        await store.ping()
    with pytest.raises(Unavailable):
        await store.list_flags()
    store.set_unavailable(None)
    await store.ping()


async def test_audit_log_is_bounded_and_newest_last() -> None:
    audit = SimAudit(limit=3)
    for i in range(5):
        await audit.append(AuditEvent(t=float(i), actor="me", target="f", action=f"a{i}"))
    assert [e.action for e in await audit.recent()] == ["a2", "a3", "a4"]
    assert [e.action for e in await audit.recent(2)] == ["a3", "a4"]
    with pytest.raises(ReadOnly):
        await SimAudit(read_only=True).append(AuditEvent(t=0, actor="me", target="f", action="x"))


async def test_population_accumulates_live_numbers_through_list_experiments() -> None:
    clock = VirtualClock()
    store = SimStore(clock, seed=7, users_per_second=50)
    assert all(e.users == 0 for e in await store.list_experiments())
    await clock.advance(600)
    exps = {e.id: e for e in await store.list_experiments()}
    checkout = exps["checkout-flow-redesign"]
    assert [v.name for v in checkout.variants] == ["control", "variant_a"]
    assert [v.weight for v in checkout.variants] == [50, 50]
    assert 25_000 < checkout.users < 35_000  # ~50/s for 600 s
    assert all(0.4 < v.users / checkout.users < 0.6 for v in checkout.variants)
    layout = exps["product-page-layout"]
    assert layout.users == checkout.users  # every user enters both active experiments
    assert [v.name for v in layout.variants] == ["control", "variant_a", "variant_b"]
    for v in layout.variants:
        assert 0.25 < v.converters / v.users < 0.35
    assert store.population.elapsed_days("checkout-flow-redesign") == pytest.approx(599 / 86400)


def test_population_assigns_like_the_seed_and_converts_at_the_true_rates() -> None:
    clock = VirtualClock()
    exps = {"e": {"name": "E", "status": "active", "traffic_split": {"control": 20, "variant_a": 80}}}
    pop = Population(clock, 1, exps, users_per_second=100, rates={"e": {"control": 0.0, "variant_a": 1.0}})
    pop.tick(clock.now() + 100)
    counts = pop.counts("e")
    n = sum(u for u, _ in counts.values())
    expected = {"control": 0, "variant_a": 0}
    for i in range(n):
        expected[assign_variant(exps["e"], f"sim-user-{i}")] += 1
    assert {v: u for v, (u, _) in counts.items()} == expected
    assert counts["control"][1] == 0 and counts["variant_a"][1] == counts["variant_a"][0]


def test_inactive_experiments_get_no_users_and_status_changes_are_live() -> None:
    clock = VirtualClock()
    exps = {"e": {"name": "E", "status": "paused", "traffic_split": {"control": 50, "variant_a": 50}}}
    pop = Population(clock, 1, exps, users_per_second=10)
    pop.tick(clock.now() + 30)
    assert pop.counts("e") == {}
    exps["e"]["status"] = "active"
    pop.tick(clock.now() + 60)
    assert sum(u for u, _ in pop.counts("e").values()) > 0


def _run(seed: int) -> list[tuple[str, tuple[tuple[str, int, int], ...]]]:
    async def go() -> list[tuple[str, tuple[tuple[str, int, int], ...]]]:
        clock = VirtualClock()
        store = SimStore(clock, seed=seed, users_per_second=5)
        task = asyncio.create_task(store.population.run())
        await clock.run_for(120)
        assert store.population.seconds == 120
        task.cancel()
        listed = await store.list_experiments()
        return [(e.id, tuple((v.name, v.users, v.converters) for v in e.variants)) for e in listed]

    return asyncio.run(go())


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    a, b, c = _run(3), _run(3), _run(4)
    assert a == b
    assert a != c
    assert sum(u for _, vs in a for _, u, _ in vs) > 0


async def test_editing_an_experiment_through_the_store_reaches_the_population() -> None:
    clock = VirtualClock()
    store = SimStore(clock, seed=2, users_per_second=20)
    raw, v = await store.get_experiment_raw("checkout-flow-redesign")
    raw["status"] = "stopped"
    await store.put_experiment_raw("checkout-flow-redesign", raw, v)
    await clock.advance(60)
    exps = {e.id: e for e in await store.list_experiments()}
    assert exps["checkout-flow-redesign"].users == 0 and exps["checkout-flow-redesign"].status == "stopped"
    assert exps["product-page-layout"].users > 0
    assert json.dumps(raw)  # still plain JSON

"""The cluster's Events about a target's objects: the book that keeps them bounded, the rows that carry
them, the detail pane's Events section, and the simulated cluster that delivers them in the demo."""

from __future__ import annotations

from app.clock import EPOCH, VirtualClock
from app.control.event_book import EventBook
from app.control.target_events import foreign_objects, target_objects, with_events
from app.factory import RoomOptions, make_demo
from app.model import Rollout, Strategy, Target
from backends.base import ClusterEvent, ForeignObject
from widgets.object_events import age_of, events_content, kube_age

NOW = EPOCH + 10_000
SHOP = Target(name="shop", namespace="prod", deployment="shop")


def ev(name: str, obj: str, t: float, reason: str = "Step", **kw: object) -> ClusterEvent:
    return ClusterEvent(t=t, namespace="prod", object=obj, reason=reason, message=f"{name} happened", name=name, **kw)


def test_the_book_keeps_the_newest_per_object_and_forgets_old_and_deleted_ones() -> None:
    book = EventBook(per_object=3, max_age=600, per_target=4)
    book.focus(target_objects(SHOP), NOW)
    for i in range(5):
        book.take("ADDED", ev(f"p{i}", "Deployment/shop-primary", NOW - 50 + i), NOW)
    book.take("ADDED", ev("rs", "ReplicaSet/shop-7d9f8c6b5", NOW - 10, "SuccessfulCreate"), NOW)
    book.take("ADDED", ev("old", "Deployment/shop", NOW - 700), NOW)
    book.take("ADDED", ev("vs", "VirtualService/shop", NOW - 5), NOW)
    got = book.recent(target_objects(SHOP), NOW)
    assert [e.name for e in got] == ["vs", "rs", "p4", "p3"], "newest first, at most per_target"
    assert len(book) == 5, "three of the primary's five, the ReplicaSet's and the route's"
    book.take("DELETED", ev("vs", "VirtualService/shop", NOW - 5), NOW)
    book.keep_listed("prod", {("prod", "p4"), ("prod", "rs")})  # a re-list that no longer names p2, p3
    assert [e.name for e in book.recent(target_objects(SHOP), NOW)] == ["rs", "p4"]
    assert book.recent(target_objects(SHOP), NOW + 700) == (), "older than max_age: not shown"


def test_events_listed_before_their_target_is_known_wait_in_a_bounded_pool() -> None:
    book = EventBook(loose=2)
    book.take("ADDED", ev("a", "Canary/podinfo", NOW - 3), NOW)
    book.take("ADDED", ev("b", "Deployment/podinfo-primary", NOW - 2), NOW)
    book.take("ADDED", ev("c", "Deployment/unrelated", NOW - 1), NOW)
    assert len(book) == 2, "the pool keeps its newest"
    canary = ForeignObject(
        api_version="flagger.app/v1beta1",
        kind="Canary",
        name="podinfo",
        namespace="prod",
        body={"spec": {"targetRef": {"name": "podinfo"}}},
    )
    objects = foreign_objects([canary])["prod/podinfo"]
    book.focus(objects, NOW)
    assert [e.name for e in book.recent(objects, NOW)] == ["b"], "the pool's Events about it are kept now"


def test_rows_carry_their_targets_events_only() -> None:
    book = EventBook()
    rows = [Rollout(name="shop", namespace="prod"), Rollout(name="web", namespace="prod")]
    web = Target(name="web", namespace="prod", strategy=Strategy.BLUE_GREEN, deployment="web", service="web")
    book.focus(target_objects(SHOP) | target_objects(web), NOW)
    book.take("ADDED", ev("s", "Service/web", NOW - 1, "SelectorChanged"), NOW)
    book.take("ADDED", ev("d", "Deployment/web-green", NOW - 2, "ScalingReplicaSet"), NOW)
    shop, web_row = with_events(rows, {"prod/shop": SHOP, "prod/web": web}, [], book, NOW)
    assert shop.events == ()
    assert [e.name for e in web_row.events] == ["s", "d"]


def test_ages_as_kubectl_shows_them() -> None:
    assert [kube_age(s) for s in (5, 119, 130, 600, 3 * 3600 + 300, 30 * 3600, 4 * 86400)] == [
        "5s",
        "119s",
        "2m10s",
        "10m",
        "3h5m",
        "30h",
        "4d",
    ]
    series = ev("x", "Deployment/shop", NOW - 30, count=4, first=NOW - 300)
    assert age_of(series, NOW) == "30s (x4 over 5m)"


def test_the_events_section_newest_first_warnings_coloured_strings_cleaned() -> None:
    events = (
        ev("w", "Canary/shop", NOW - 12, "Synced\x1b[2J", type="Warning", controller="flagger"),
        ev("n", "Deployment/shop", NOW - 90, "ScalingReplicaSet", controller="deployment-controller"),
    )
    row = Rollout(name="shop", namespace="prod", events=events)
    wide = events_content(row, NOW, width=120)
    lines = wide.plain.splitlines()
    assert lines[0].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert lines[1].split()[:4] == ["Warning", "Synced\\x1b[2J", "12s", "flagger"]
    assert lines[2].split()[:4] == ["Normal", "ScalingReplicaSet", "90s", "deployment-controller"]
    warning_spans = [s for s in wide.spans if "$warning" in str(s.style)]
    assert warning_spans and all(wide.plain[s.start : s.end].startswith("Warning") for s in warning_spans)
    narrow = events_content(row, NOW, width=44).plain.splitlines()
    assert narrow[:2] == ["Type     Reason             Age", "  From: Message"]
    assert narrow[3] == "  flagger: w happened"
    assert "\x1b" not in events_content(row, NOW, width=44).plain
    empty = events_content(Rollout(name="quiet", namespace="prod"), NOW).plain
    assert empty == "no Events about its objects in the last hour"


async def test_the_demo_shows_the_simulated_clusters_events_and_the_rooms_decisions() -> None:
    clock = VirtualClock()
    demo = make_demo(RoomOptions(scenario="release-day", virtual=True), clock)
    await demo.engine.start()
    try:
        await clock.run_for(300, step=1.0)
        await demo.engine.idle()
        await demo.engine.run_pass()
        rows = {r.name: r for r in demo.engine.state.rollouts}
        canary = rows["microservices-canary"].events
        assert any(e.controller == "deployment-controller" and e.reason == "ScalingReplicaSet" for e in canary)
        decisions = [e for e in canary + rows["frontend"].events if e.controller == "shiftroom.io/room"]
        assert decisions, "the room's decisions are Events on the target's managed object"
        for events in (canary, rows["frontend"].events):
            assert [e.t for e in events] == sorted((e.t for e in events), reverse=True)
    finally:
        await demo.engine.stop()

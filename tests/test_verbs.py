"""Exit codes of every headless verb on the simulator, in-process (`app.cli.main`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.verbs import BAD_INPUT, FAILED, OK, TIMEOUT, UNREACHABLE

CANARY = "microservices-canary"

DOWN = """\
name: down
description: the API server is gone from the start
events:
  - at: 0
    cluster: down
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_wait_for_succeeded_on_a_bad_canary_fails_with_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "wait", CANARY, "--until", "Succeeded", "--demo", "bad-canary", "--json")
    assert code == FAILED
    (result,) = lines(out)
    assert result["kind"] == "wait" and result["result"] == "failed" and result["phase"] == "Failed"
    assert result["exit"] == FAILED and "failed checks 5/5" in (result["decision"] or result["message"])


def test_wait_for_failed_on_a_bad_canary_is_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "wait", CANARY, "--until", "Failed", "--demo", "bad-canary")
    assert code == OK
    assert out.startswith("microservices/microservices-canary is Failed after ")


def test_wait_for_succeeded_on_a_healthy_canary_is_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "wait", CANARY, "--until", "Succeeded", "--demo", "healthy-canary", "--json")
    assert code == OK
    assert lines(out)[0]["phase"] == "Succeeded" and lines(out)[0]["weights"] == {"stable": 100, "canary": 0}


def test_wait_for_promoted_sees_the_promotion_before_it_finishes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "wait", CANARY, "--until", "Promoted", "--demo", "healthy-canary", "--json")
    assert code == OK
    assert lines(out)[0]["phase"] in ("Promoting", "Finalising", "Succeeded")


def test_wait_times_out_with_3_on_the_simulated_clock(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "wait", "frontend", "--until", "Succeeded", "--timeout", "2m", "--demo", "bad-canary", "--json"
    )
    assert code == TIMEOUT
    (result,) = lines(out)
    assert result["result"] == "timeout" and result["waited"] == pytest.approx(120, abs=1)


def test_wait_for_paused_ends_1_once_the_rollout_has_finished(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "wait", CANARY, "--until", "Paused", "--demo", "bad-canary")
    assert code == FAILED  # nobody pauses it; once it has failed it can no longer be paused
    assert "ended Failed while waiting for Paused" in out


def test_unknown_target_is_one_sentence_listing_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    for verb in ("status", "wait", "promote"):
        extra = {"wait": ["--until", "Succeeded"], "promote": ["--reason", "r", "--yes"]}.get(verb, [])
        code, _, err = run(capsys, verb, "nope", *extra, "--demo", "bad-canary")
        assert code == BAD_INPUT
        assert err.strip() == (
            "shiftroom: there is no target 'nope'; the known targets are: "
            "microservices/frontend, microservices/microservices-canary."
        )


def test_bad_input_is_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no kubeconfig anywhere: without --demo that is bad input
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert run(capsys, "wait", CANARY, "--until", "Nope", "--demo")[0] == BAD_INPUT
    code, _, err = run(capsys, "wait", CANARY, "--until", "Failed", "--timeout", "5x", "--demo")
    assert code == BAD_INPUT and "is not a duration" in err
    code, _, err = run(capsys, "status", "--demo", "no-such-scenario")
    assert code == BAD_INPUT and "no scenario named 'no-such-scenario'" in err
    code, _, err = run(capsys, "status")
    assert code == BAD_INPUT and "No kubeconfig found" in err and "--demo" in err
    code, _, err = run(capsys, "status", "--demo", "-n", "shop", "--context", "x")
    assert code == BAD_INPUT and "so --context, -n do not apply" in err
    code, _, err = run(capsys, "status", "--at", "10")
    assert code == BAD_INPUT and "--at only applies to --demo" in err
    assert run(capsys, "promote", CANARY, "--demo")[0] == BAD_INPUT  # --reason is required


def test_unreachable_cluster_is_4_for_every_verb(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "down.yaml"
    scenario.write_text(DOWN)
    for argv in (["status"], ["wait", CANARY, "--until", "Succeeded"], ["pause", CANARY, "--reason", "r"]):
        code, out, err = run(capsys, *argv, "--demo", str(scenario), "--json")
        assert code == UNREACHABLE, argv
        assert "the cluster could not be reached" in err
        assert lines(out) == [{"kind": "error", "error": err.strip(), "exit": UNREACHABLE}]


def test_status_lists_every_rollout_as_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "--demo", "bad-canary", "--at", "100", "--json")
    assert code == OK
    got = {o["target"]: o for o in lines(out)}
    assert set(got) == {"microservices/frontend", "microservices/microservices-canary"}
    canary = got["microservices/microservices-canary"]
    assert canary["phase"] == "Progressing" and canary["weights"]["canary"] > 0
    assert canary["time"] == "2026-01-01T00:01:40Z"


def test_status_text_is_aligned(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "--demo", "bad-canary", "--at", "100")
    assert code == OK
    header, *rows = out.splitlines()
    assert len(rows) == 2
    for column in ("STRATEGY", "PHASE", "WEIGHT"):
        at = header.index(column)
        assert all(row[at - 2 : at] == "  " and row[at] != " " for row in rows), column


@pytest.mark.parametrize("verb", ["pause", "step"])
def test_a_safe_command_is_0(capsys: pytest.CaptureFixture[str], verb: str) -> None:
    code, out, _ = run(capsys, verb, CANARY, "--reason", "pipeline", "--demo", "bad-canary", "--at", "60", "--json")
    assert code == OK
    assert lines(out)[0]["ok"] is True and lines(out)[0]["verb"] == verb


def test_resume_of_a_running_canary_says_so_and_is_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "resume", CANARY, "--reason", "r", "--demo", "bad-canary", "--at", "60")
    assert code == OK and "already running" in out


@pytest.mark.parametrize("verb", ["promote", "abort"])
def test_a_destructive_command_without_yes_and_without_terminal_is_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, verb: str
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run(capsys, verb, CANARY, "--reason", "r", "--demo", "bad-canary", "--at", "60")
    assert code == BAD_INPUT and "add --yes" in err
    code, out, _ = run(capsys, verb, CANARY, "--reason", "r", "--demo", "bad-canary", "--at", "60", "--yes", "--json")
    assert code == OK and lines(out)[0]["ok"] is True


@pytest.mark.parametrize("verb", ["step", "switch", "undo"])
def test_a_command_that_does_not_apply_now_is_1(capsys: pytest.CaptureFixture[str], verb: str) -> None:
    target = "frontend" if verb == "step" else CANARY
    code, _, err = run(capsys, verb, target, "--reason", "r", "--yes", "--demo", "bad-canary")
    assert code == FAILED
    assert err.startswith("shiftroom: microservices/")


def test_undo_without_a_previous_revision_names_the_target_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "undo", "frontend", "--reason", "r", "--yes", "--demo")
    assert code == FAILED
    assert err.strip() == (
        "shiftroom: microservices/frontend: Deployment microservices/microservices-blue has no previous revision "
        "to roll back to."
    )


def test_judge_paused_and_durations() -> None:
    from app.model import Phase, Rollout
    from app.verbs.phases import judge
    from app.verbs.targets import parse_duration

    assert judge(Rollout(name="a", phase=Phase.PROGRESSING, paused=True), "Paused") == "reached"
    assert judge(Rollout(name="a", phase=Phase.PROGRESSING), "Paused") is None
    assert judge(Rollout(name="a", phase=Phase.SUCCEEDED), "Failed") == "failed"
    assert judge(Rollout(name="a", phase=Phase.FINALISING), "Promoted") == "reached"
    # Argo Rollouts' phases: Healthy is a finished release, Degraded a failed one
    assert judge(Rollout(name="a", phase=Phase.HEALTHY), "Succeeded") == "reached"
    assert judge(Rollout(name="a", phase=Phase.DEGRADED), "Succeeded") == "failed"
    assert judge(Rollout(name="a", phase=Phase.PAUSED), "Paused") == "reached"
    assert [parse_duration(t) for t in ("90", "90s", "30m", "1h30m")] == [90, 90, 1800, 5400]
    for bad in ("0", "-1", "m", "5x", "1h30"):
        with pytest.raises(ValueError):
            parse_duration(bad)


FLAGGER_TABLE = {  # phase: (Succeeded, Failed, Promoted, Paused) -- the README's table
    "Initializing": (None, None, None, None),
    "Initialized": (None, None, None, None),
    "Waiting": (None, None, None, None),
    "Progressing": (None, None, None, None),
    "WaitingPromotion": (None, None, None, None),
    "Promoting": (None, None, "reached", None),
    "Finalising": (None, None, "reached", None),
    "Succeeded": ("reached", "failed", "reached", "failed"),
    "Failed": ("failed", "reached", "failed", "failed"),
    "Terminating": ("failed", "failed", "failed", "failed"),
    "Terminated": ("failed", "failed", "failed", "failed"),
}


def test_every_flagger_phase_maps_as_the_readme_says() -> None:
    from app.model import Phase, Rollout
    from app.verbs.phases import judge

    for phase, expected in FLAGGER_TABLE.items():
        row = Rollout(name="c", phase=Phase(phase), driven_by="flagger")
        got = tuple(judge(row, until) for until in ("Succeeded", "Failed", "Promoted", "Paused"))
        assert got == expected, phase
    suspended = Rollout(name="c", phase=Phase.PROGRESSING, paused=True, driven_by="flagger")
    assert judge(suspended, "Paused") == "reached" and judge(suspended, "Succeeded") is None


def test_argo_phases_and_abort_map_as_the_readme_says() -> None:
    from app.model import Phase, Rollout, Strategy, Weights
    from app.verbs.phases import judge

    def argo(phase: Phase, **kw: Any) -> Rollout:
        return Rollout(name="r", phase=phase, driven_by="argo", **kw)

    assert judge(argo(Phase.HEALTHY), "Succeeded") == "reached"
    assert judge(argo(Phase.HEALTHY), "Promoted") == "reached"
    assert judge(argo(Phase.DEGRADED), "Succeeded") == "failed"
    assert judge(argo(Phase.DEGRADED), "Failed") == "reached"
    # An abort is a failure even before the controller has written Degraded.
    assert judge(argo(Phase.PROGRESSING, aborted=True), "Succeeded") == "failed"
    assert judge(argo(Phase.PROGRESSING, aborted=True), "Failed") == "reached"
    assert judge(argo(Phase.PAUSED, paused=True, step=1, steps=8), "Paused") == "reached"
    assert judge(argo(Phase.PAUSED, paused=True, step=1, steps=8), "Succeeded") is None
    assert judge(argo(Phase.PROGRESSING, step=3, steps=8), "Promoted") is None
    assert judge(argo(Phase.PROGRESSING, step=8, steps=8), "Promoted") == "reached"  # past its last step
    switched = argo(Phase.PROGRESSING, strategy=Strategy.BLUE_GREEN, actual=Weights.of_canary(100))
    assert judge(switched, "Promoted") == "reached" and judge(switched, "Succeeded") is None


PRODUCTION = """\
name: prod
targets:
  - name: checkout
    namespace: shop
    strategy: canary
    deployment: checkout
    production: true
    analysis:
      interval: 30
      threshold: 5
      metrics: [{name: request-success-rate, min: 99, interval: 30s}]
events:
  - at: 10
    release: {target: checkout, image: shop/checkout:2.0.0}
"""


async def test_on_a_terminal_a_production_target_asks_for_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.verbs.act import act
    from app.verbs.backend import BackendOptions

    scenario = tmp_path / "prod.yaml"
    scenario.write_text(PRODUCTION)
    options = BackendOptions(demo=str(scenario), at=90)
    asked: list[str] = []

    def typed(answer: str):  # type: ignore[no-untyped-def]
        def ask(prompt: str) -> str:
            asked.append(prompt)
            return answer

        return ask

    code = await act(options, "promote", "checkout", "release", yes=False, as_json=False, ask=typed("checkou"))
    assert code == BAD_INPUT and "type checkout to confirm" in asked[-1]
    assert "does not match checkout; nothing was done" in capsys.readouterr().err
    code = await act(options, "promote", "checkout", "release", yes=False, as_json=False, ask=typed("checkout"))
    assert code == OK and "promot" in capsys.readouterr().out

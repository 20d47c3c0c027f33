"""The steady-state hypothesis: a probe that holds within a few seconds holds (one `degraded` /health on a
loaded host was a false alarm), and one that never holds still fails the scenario before any fault."""

from __future__ import annotations

from typing import Any

import pytest

from chaos_lab.experiment import context
from chaos_lab.experiment.context import ExperimentContext, ScenarioError
from chaos_lab.scenarios.catalog import SCENARIOS
from chaos_lab.workload.history import History
from chaos_lab.workload.waiting import WaitMeter


class _Health:
    def __init__(self, answers: list[str]) -> None:
        self.answers = answers

    def health(self) -> dict[str, Any]:
        return {"status": self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]}


def _ctx(answers: list[str]) -> ExperimentContext:
    urls = {"engine": "http://x", "broker": "", "toxiproxy": ""}
    scenario = SCENARIOS[0].model_copy(update={"steady_state": ("engine_ready",)})
    ctx = ExperimentContext(None, WaitMeter(), urls, scenario, History())
    ctx.client = _Health(answers)  # type: ignore[assignment]
    return ctx


def test_a_passing_blip_of_degraded_health_is_not_a_broken_hypothesis() -> None:
    _ctx(["degraded", "degraded", "ready"]).steady_state()


def test_an_engine_that_never_gets_ready_breaks_the_hypothesis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context, "STEADY_WITHIN_S", 0.5)
    with pytest.raises(ScenarioError, match="engine_ready"):
        _ctx(["degraded"]).steady_state()


class _Answers:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def health(self) -> dict[str, Any]:
        return self.body


def _degraded(check: str, reason: str) -> dict[str, Any]:
    checks = {"ledger": True, "disk": True, "broker": True, "kill_switch": True, "snapshot": True}
    return {"status": "degraded", "reasons": [reason], "checks": {**checks, check: False}}


def test_an_engine_degraded_by_itself_too_long_is_a_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outcomes it can never record (a planted bug: orders sent without their intent record) keep the engine
    degraded forever: the recovery wait ends after STUCK_S with an engine verdict, not after 120 s as a lab
    error. A broker link that is still sick, or a fault still active, keeps the wait going."""
    monkeypatch.setattr(context, "STUCK_S", 0.3)
    ctx = _ctx(["ready"])
    stuck = _degraded("ledger", "ledger: 3 broker outcome(s) not recorded yet")
    ctx.client = _Answers(stuck)  # type: ignore[assignment]
    with pytest.raises(context.EngineWontRecover, match="not recorded yet"):
        ctx.wait_engine(ready=True, timeout=5.0)
    ctx.client = _Answers(_degraded("broker", "broker: startup reconcile pending"))  # type: ignore[assignment]
    with pytest.raises(context.WaitTimeout):
        ctx.wait_engine(ready=True, timeout=0.8)
    ctx.client = _Answers(_degraded("ledger", "ledger: write failed"))  # type: ignore[assignment]
    ctx.nemesis.active["fsync"] = object()  # type: ignore[assignment]
    with pytest.raises(context.WaitTimeout):
        ctx.wait_engine(ready=True, timeout=0.8)

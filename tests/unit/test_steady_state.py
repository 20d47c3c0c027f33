"""The steady-state hypothesis: a probe that holds within a few seconds holds (one `degraded` /health on a
loaded host was a false alarm), and one that never holds still fails the scenario before any fault."""

from __future__ import annotations

from typing import Any

import pytest

from chaos_lab import context
from chaos_lab.context import ExperimentContext, ScenarioError
from chaos_lab.history import History
from chaos_lab.scenarios.catalog import SCENARIOS
from chaos_lab.waiting import WaitMeter


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

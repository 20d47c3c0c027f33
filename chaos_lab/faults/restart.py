"""Restart a service's container: a graceful stop and a start, the engine back as a new process."""

from __future__ import annotations

from typing import Any

from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.params import FaultParams, Service
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE


class Restart(Fault):
    kind = "restart"
    explore = ExploreRule(no_params, (0.0, 0.5), "process")
    effects = frozenset({Effect.ENGINE_DOWN, Effect.PROCESS_ENDS})
    restarts_engine = "inject"
    goals = (goal("workload_hit", why="the restart struck while signals were being sent"),)

    class Params(FaultParams):
        service: Service = ENGINE

    def __init__(self, lab: Lab, service: str = ENGINE) -> None:
        super().__init__(service=service)
        self.lab, self.service = lab, service

    def inject(self) -> dict[str, Any]:
        self.lab.restart(self.service)
        return {}

    def heal(self) -> None:
        """Nothing to undo: the runner waits for readiness after every method."""

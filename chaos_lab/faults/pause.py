"""Freeze every process of the container (cgroup freezer): alive, holding connections, answering nothing."""

from __future__ import annotations

from typing import Any

from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.params import FaultParams, Service
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE


class Pause(Fault):
    """Freeze every process of the container (cgroup freezer): alive, holding connections, answering
    nothing."""

    kind = "pause"
    explore = (
        # up to 7 s: longer than the client's 5 s read timeout, so in-flight signals end in doubt
        ExploreRule(no_params, (0.5, 7.0), "process")
    )
    effects = frozenset({Effect.ENGINE_DOWN})

    goals = (goal("workload_hit", why="the pause froze signals in flight"),)

    class Params(FaultParams):
        service: Service = ENGINE

    def __init__(self, lab: Lab, service: str = ENGINE) -> None:
        super().__init__(service=service)
        self.lab, self.service = lab, service

    def inject(self) -> dict[str, Any]:
        self.lab.pause(self.service)
        if self.lab.service_status(self.service) != "paused":
            raise FaultError(f"{self.service} not paused after pause")
        return {}

    def heal(self) -> None:
        if self.lab.service_status(self.service) == "paused":
            self.lab.unpause(self.service)

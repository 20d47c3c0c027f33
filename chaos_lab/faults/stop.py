"""A graceful stop that stays stopped until healed: the window in which file faults are applied."""

from __future__ import annotations

from typing import Annotated, Any

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.params import FaultParams, Service
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE


class Stop(Fault):
    """A graceful stop that stays stopped until healed: the window in which file faults are applied."""

    kind = "stop"
    explore = ExploreRule(no_params, (0.2, 1.5), "process")
    effects = frozenset({Effect.ENGINE_DOWN, Effect.PROCESS_ENDS})
    restarts_engine = "heal"

    class Params(FaultParams):
        service: Service = ENGINE
        timeout: Annotated[int, Between(0, 60, " s", integer=True)] = 10  # Docker's grace before SIGKILL

    def __init__(self, lab: Lab, service: str = ENGINE, timeout: int = 10) -> None:
        super().__init__(service=service)
        self.lab, self.service, self.timeout = lab, service, timeout

    def inject(self) -> dict[str, Any]:
        self.lab.stop(self.service, timeout=self.timeout)
        if self.lab.service_status(self.service) == "running":
            raise FaultError(f"{self.service} still running after stop")
        return {}

    def heal(self) -> None:
        self.lab.start(self.service)

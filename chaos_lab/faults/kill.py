"""Send a signal to the container's main process (SIGKILL: no goodbye; SIGTERM: a graceful stop)."""

from __future__ import annotations

from typing import Any

from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.params import FaultParams, Service, SignalName
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE, engine_running


class Kill(Fault):
    """Send a signal to the container's main process (SIGKILL: no goodbye; SIGTERM: a graceful stop).
    Heal starts it again if it is down, as an operator or a restart policy would."""

    kind = "kill"
    explore = ExploreRule(
        lambda r: {"signal": r.choice(["SIGKILL", "SIGKILL", "SIGTERM"])}, (0.1, 1.5), "process"
    )
    effects = frozenset({Effect.ENGINE_DOWN, Effect.PROCESS_ENDS})
    restarts_engine = "heal"

    goals = (goal("workload_hit", why="the kill struck while signals were being sent"),)

    class Params(FaultParams):
        signal: SignalName = "SIGKILL"
        service: Service = ENGINE

    def __init__(self, lab: Lab, signal: str = "SIGKILL", service: str = ENGINE) -> None:
        super().__init__(signal=signal, service=service)
        self.lab, self.signal, self.service = lab, signal, service

    def inject(self) -> dict[str, Any]:
        self.lab.kill(self.service, signal=self.signal)
        if self.signal == "SIGKILL" and self.lab.service_status(self.service) == "running":
            raise FaultError(f"{self.service} still running after SIGKILL")
        return {"signal": self.signal}

    def heal(self) -> None:
        if self.signal not in ("SIGKILL", "KILL", "9"):
            # A graceful signal: the process is still shutting down; starting "if down" must not race it.
            self.lab.wait_stopped(self.service, timeout=15)
        if self.service != ENGINE or not engine_running(self.lab):
            self.lab.start(self.service)

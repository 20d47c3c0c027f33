"""Process faults on a lab container, all through DockerLab: real signals to the real process."""

from __future__ import annotations

from typing import Annotated, Any

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.lab_ops import ENGINE, engine_running
from chaos_lab.faults.params import FaultParams, Service, SignalName
from chaos_lab.lab import Lab


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

"""CPU starvation: the engine's cgroup gets a few percent of one CPU (CFS quota through the Docker API, as
`docker update --cpu-period --cpu-quota`), as on an oversubscribed host. It keeps running, slowly: timeouts
and health must stay truthful, nothing may be lost or doubled.

The period sets the shape of the starvation. Once the engine has used its quota it is throttled for the rest
of the period, so each stall lasts up to period x (1 - fraction), whatever the host's speed. With a short
period the stalls are many and tiny, and how much they add to a request depends on how many ms of CPU the
request needs on this host: a latency budget in the engine is crossed on a slow host and not on a fast one."""

from __future__ import annotations

import random
from typing import Annotated, Any

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, goal
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE

PERIOD_US = 100_000  # the kernel's default CFS period
MIN_PERIOD_US, MAX_PERIOD_US, MIN_QUOTA_US = 1_000, 1_000_000, 1_000  # the limits Docker accepts


def _draw(rng: random.Random) -> dict[str, Any]:
    """A CPU share and a CFS period: 1 s periods stall in-flight work ~1 s at a time, 0.1 s ones slow it
    evenly. One draw of three, as before periods were drawn: earlier seeds keep the rest of their schedule."""
    fraction, period = rng.choice([(0.05, 1.0), (0.1, 0.1), (0.25, 0.1)])
    return {"cpu_fraction": fraction, "period_s": period}


class CpuStarve(Fault):
    kind = "cpu_starve"
    explore = ExploreRule(_draw, (1.0, 4.0), "resource")
    effects = frozenset({Effect.CPU_STARVED})
    # A stall alone is met by an idle engine: Docker's healthcheck (a python3 process in the engine's cgroup
    # each second, ~48 ms of CPU measured) and the lab's /health probes spend a 5 % quota of a 1 s period by
    # themselves (a starvation timed after the burst stalled 0.9 s with no signal in flight). What the fault
    # is aimed at is the engine's work: signals handled while it is starved.
    goals = (
        goal("stall", why="the engine was starved long enough to stall"),
        goal("signal_answered", why="the engine handled signals while it was starved"),
    )

    class Params(FaultParams):
        """The period within what Docker accepts (the constructor would clamp it silently)."""

        cpu_fraction: Annotated[float, Between(0.0, 1.0, lo_open=True)] = 0.05
        period_s: Annotated[float, Between(MIN_PERIOD_US / 1e6, MAX_PERIOD_US / 1e6, " s")] = PERIOD_US / 1e6

    def __init__(self, lab: Lab, cpu_fraction: float = 0.05, period_s: float = PERIOD_US / 1e6) -> None:
        super().__init__(cpu_fraction=cpu_fraction, period_s=period_s)
        self.lab, self.fraction = lab, cpu_fraction
        self.period_us = min(MAX_PERIOD_US, max(MIN_PERIOD_US, int(period_s * 1e6)))

    def inject(self) -> dict[str, Any]:
        quota = max(MIN_QUOTA_US, int(self.period_us * self.fraction))
        self.lab.update_resources(ENGINE, cpu_period=self.period_us, cpu_quota=quota)
        return {"cpu_period_us": self.period_us, "cpu_quota_us": quota}

    def heal(self) -> None:
        self.lab.update_resources(ENGINE, cpu_quota=-1)

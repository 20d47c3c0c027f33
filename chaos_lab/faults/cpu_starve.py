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
    # That the quota bit is the kernel's own count (throttled CFS periods), not the engine's stall watchdog:
    # whether the engine stalls past its 0.75 s threshold depends on how many ms a signal costs on this host
    # (an idle 2-core host answered a 20-signal burst at 5 % in 1 s periods without one). A throttle alone is
    # met by an idle engine (the lab's /health probes spend part of a 5 % quota by themselves): what the fault
    # is aimed at is the engine's work, signals handled while it is starved.
    goals = (
        goal("cpu_throttled", why="the kernel throttled the engine: it wanted more CPU than its quota"),
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
        self.before: tuple[int, float] | None = None  # the kernel's throttle count at the inject

    def inject(self) -> dict[str, Any]:
        self.before = self.lab.cpu_throttling(ENGINE)
        quota = max(MIN_QUOTA_US, int(self.period_us * self.fraction))
        self.lab.update_resources(ENGINE, cpu_period=self.period_us, cpu_quota=quota)
        return {"cpu_period_us": self.period_us, "cpu_quota_us": quota}

    def heal(self) -> dict[str, Any] | None:
        """Lift the quota; then say how often the kernel throttled the engine while it held."""
        try:
            after: tuple[int, float] | None = self.lab.cpu_throttling(ENGINE)
        except Exception:  # an unread count is no proof of reach (its goal stays unmet), not a failed heal
            after = None
        self.lab.update_resources(ENGINE, cpu_quota=-1)
        before = self.before
        if before is None or after is None or after[0] < before[0]:  # a new container restarts the count
            return None
        periods, seconds = after[0] - before[0], round(after[1] - before[1], 3)
        measured: dict[str, Any] = {"throttled_periods": periods, "throttled_s": seconds}
        if periods:
            measured["events"] = [{"event": "cpu_throttled", "periods": periods, "seconds": seconds}]
        return measured

"""The engine's wall clock steps by `offset_s` (forward past the balance age limit, or backwards), as an NTP
step or a VM resumed from a snapshot does. Monotonic time is untouched (see faults/faketime.py)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.faketime import engine_wall_clock, reset_clock, set_clock
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab

YEAR_S = 365 * 86_400


class ClockStep(Fault):
    kind = "clock_step"
    in_process = True
    explore = (
        # a step past the balance age limit, or backwards
        ExploreRule(lambda r: {"offset_s": r.choice([301.0, 3600.0, -400.0])}, (0.5, 3.0), "clock")
    )
    effects = frozenset({Effect.CLOCK_SKEW})
    goals = (goal("signal_answered", why="the engine handled signals under the wrong clock"),)

    class Params(FaultParams):
        offset_s: Annotated[float, Between(-YEAR_S, YEAR_S, " s")] = 301.0  # forward or back, up to a year

    def __init__(self, lab: Lab, offset_s: float = 301.0) -> None:
        super().__init__(offset_s=offset_s)
        self.lab, self.offset_s = lab, offset_s

    def inject(self) -> dict[str, Any]:
        set_clock(self.lab, f"{self.offset_s:+.0f}s")
        skew = engine_wall_clock(self.lab) - time.time()
        if abs(skew - self.offset_s) > 5.0:
            raise FaultError(f"engine clock skew {skew:.1f}s after a {self.offset_s:+.0f}s step")
        return {"offset_s": self.offset_s, "measured_skew_s": round(skew, 3)}

    def heal(self) -> None:
        reset_clock(self.lab)

"""The engine's wall clock runs `rate` times too fast (a broken clock source), counted from the engine's
start (libfaketime's rate spec): the wall clock leaps ahead, then keeps drifting. Monotonic is untouched.

libfaketime counts the rate from each process's own start, so a helper process cannot measure the engine's
skew; inject reads the spec back, and the ledger's timestamps show the leap (clock_safety judges them).

Side effect a real fast clock does not have: in rate mode libfaketime also scales poll/select timeouts
(measured in the engine image: a 1 s socket timeout returns after 0.14 s at x10; Event.wait is unaffected), so
the engine's socket timeouts run 10x short while this fault is on. Scenarios lengthen them (engine_config)."""

from __future__ import annotations

from typing import Annotated, Any

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.faketime import read_clock_spec, reset_clock, set_clock
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab


class ClockFast(Fault):
    kind = "clock_fast"
    in_process = True
    explore = ExploreRule(lambda r: {"rate": r.choice([5.0, 10.0])}, (0.5, 3.0), "clock")
    effects = frozenset({Effect.CLOCK_SKEW})
    goals = (goal("signal_answered", why="the engine handled signals under the fast clock"),)

    class Params(FaultParams):
        rate: Annotated[float, Between(0.0, 100.0, lo_open=True)] = 10.0  # libfaketime's `x` factor

    def __init__(self, lab: Lab, rate: float = 10.0) -> None:
        super().__init__(rate=rate)
        self.lab, self.rate = lab, rate

    def inject(self) -> dict[str, Any]:
        spec = f"+0 x{self.rate:g}"
        set_clock(self.lab, spec)
        if read_clock_spec(self.lab) != spec:
            raise FaultError(f"the engine's clock spec is not {spec!r} after writing it")
        return {"rate": self.rate, "spec": spec}

    def heal(self) -> None:
        reset_clock(self.lab)

"""The engine's wall clock steps by `offset_s` (forward past the balance age limit, or backwards), as an NTP
step or a VM resumed from a snapshot does. Monotonic time is untouched (see faults/faketime.py)."""

from __future__ import annotations

import time
from typing import Any

from chaos_lab.faults.base import Fault, FaultError
from chaos_lab.faults.faketime import engine_wall_clock, reset_clock, set_clock


class ClockStep(Fault):
    kind = "clock_step"

    def __init__(self, lab: Any, offset_s: float = 301.0) -> None:
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

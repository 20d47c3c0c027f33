"""Cut the last ledger record in the middle, as a crash during write() would."""

from __future__ import annotations

from typing import Any

from chaos_lab.effects import Effect
from chaos_lab.faults.base import FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.file_fault import FileFault, Fraction, pick
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import LEDGER, read_data_file, run_on_data
from chaos_lab.ledger_reader import record_bounds


class TearLedgerTail(FileFault):
    """Cut the last ledger record in the middle, as a crash during write() would."""

    kind = "tear_ledger_tail"
    explore = ExploreRule(
        lambda r: {"fraction": round(r.uniform(0.05, 0.95), 3)}, (0.0, 0.0), "file", weight=0.5
    )
    effects = frozenset({Effect.LEDGER_TORN})

    goals = (goal("recovery_record_written", anywhere=True, why="start-up cut the torn tail"),)

    class Params(FaultParams):
        fraction: Fraction = 0.5

    def __init__(self, lab: Lab, fraction: float = 0.5) -> None:
        super().__init__(lab, fraction=fraction)
        self.fraction = fraction

    def inject(self) -> dict[str, Any]:
        data = read_data_file(self.lab, LEDGER)
        bounds = record_bounds(data)
        if not bounds:
            raise FaultError(f"{LEDGER} has no complete record to tear")
        offset, length = bounds[-1]
        keep = pick(self.fraction, 1, length - 2)  # at least one byte kept, newline always lost
        run_on_data(self.lab, ["truncate", "-s", str(offset + keep), LEDGER])
        return {
            "record_offset": offset,
            "cut_at": offset + keep,
            "dropped_bytes": keep,
            "records": len(bounds),
        }

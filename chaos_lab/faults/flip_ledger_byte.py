"""Flip one bit in a record in the middle of the ledger: a checksum mismatch followed by good records."""

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

# XOR one byte in place; never touches a newline, so the damage stays inside one record.
_FLIP_SCRIPT = r"""
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
    f.flush()
    import os; os.fsync(f.fileno())
"""


class FlipLedgerByte(FileFault):
    """Flip one bit in a record in the middle of the ledger: a checksum mismatch followed by good records."""

    kind = "flip_ledger_byte"
    explore = ExploreRule(
        lambda r: {
            "record_fraction": round(r.uniform(0.0, 0.99), 3),
            "byte_fraction": round(r.uniform(0.0, 0.99), 3),
        },
        (0.0, 0.0),
        "file",
        terminal=True,
        weight=0.3,
    )
    effects = frozenset({Effect.LEDGER_CORRUPT})

    may_trip_kill_switch = True

    goals = (goal("kill_switch_tripped", anywhere=True, cause="ledger_corrupt", why="start-up saw the flip"),)

    class Params(FaultParams):
        record_fraction: Fraction = 0.5
        byte_fraction: Fraction = 0.5

    def __init__(self, lab: Lab, record_fraction: float = 0.5, byte_fraction: float = 0.5) -> None:
        super().__init__(lab, record_fraction=record_fraction, byte_fraction=byte_fraction)
        self.record_fraction, self.byte_fraction = record_fraction, byte_fraction

    def inject(self) -> dict[str, Any]:
        data = read_data_file(self.lab, LEDGER)
        bounds = record_bounds(data)
        if len(bounds) < 3:
            raise FaultError(f"{LEDGER} has {len(bounds)} records; need 3 to corrupt one in the middle")
        index = pick(self.record_fraction, 1, len(bounds) - 2)
        offset, length = bounds[index]
        # Aim inside the JSON body: past "<crc8> " (9 bytes) and before the newline.
        byte_offset = offset + pick(self.byte_fraction, 10, length - 2)
        run_on_data(self.lab, ["python3", "-c", _FLIP_SCRIPT, LEDGER, str(byte_offset)])
        return {
            "record_offset": offset,
            "byte_offset": byte_offset,
            "record_index": index,
            "records": len(bounds),
        }

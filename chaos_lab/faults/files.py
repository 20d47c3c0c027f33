"""File faults, applied while the engine is stopped: what a crash, a bad sector or a careless operator leaves.

Each fault reads the file first (through DockerLab) and aims at a real record boundary, so the history names
the exact byte offset it damaged and the checkers can hold the engine to it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.lab_ops import read_data_file, run_on_data
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab import Lab
from chaos_lab.ledger_reader import record_bounds

LEDGER = "/data/ledger/ledger.log"
KILL_SWITCH = "/data/kill_switch.json"
SNAPSHOT = "/data/snapshots/positions.json"
Fraction = Annotated[float, Between(0.0, 1.0)]  # where in the file, drawn from the seed
# a path component under /data/bars: the engine's own name rule, so nothing escapes the directory
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]

# XOR one byte in place; never touches a newline, so the damage stays inside one record.
_FLIP_SCRIPT = r"""
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
    f.flush()
    import os; os.fsync(f.fileno())
"""


def _pick(fraction: float, lo: int, hi: int) -> int:
    """An integer in [lo, hi] chosen by a generator-supplied fraction in [0, 1): reproducible from the
    seed."""
    return lo + min(hi - lo, int(fraction * (hi - lo + 1)))


class _FileFault(Fault):
    def __init__(self, lab: Lab, **params: Any) -> None:
        super().__init__(**params)
        self.lab = lab

    def heal(self) -> None:
        """Nothing to undo: the damage is the test, the engine's recovery is what is judged."""


class TearLedgerTail(_FileFault):
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
        keep = _pick(self.fraction, 1, length - 2)  # at least one byte kept, newline always lost
        run_on_data(self.lab, ["truncate", "-s", str(offset + keep), LEDGER])
        return {
            "record_offset": offset,
            "cut_at": offset + keep,
            "dropped_bytes": keep,
            "records": len(bounds),
        }


class FlipLedgerByte(_FileFault):
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
        index = _pick(self.record_fraction, 1, len(bounds) - 2)
        offset, length = bounds[index]
        # Aim inside the JSON body: past "<crc8> " (9 bytes) and before the newline.
        byte_offset = offset + _pick(self.byte_fraction, 10, length - 2)
        run_on_data(self.lab, ["python3", "-c", _FLIP_SCRIPT, LEDGER, str(byte_offset)])
        return {
            "record_offset": offset,
            "byte_offset": byte_offset,
            "record_index": index,
            "records": len(bounds),
        }


class TruncateParquet(_FileFault):
    """Cut a bar file short: its footer (where Parquet keeps the schema) is gone."""

    kind = "truncate_parquet"
    explore = ExploreRule(
        lambda r: {"symbol": "EURUSD", "timeframe": "M1", "fraction": round(r.uniform(0.2, 0.9), 3)},
        (0.0, 0.0),
        "file",
        weight=0.3,
    )
    effects = frozenset({Effect.BARS_DAMAGED})

    goals = (goal("bars_read_failed", anywhere=True, why="a read met the truncated bar file"),)

    class Params(FaultParams):
        symbol: Name
        timeframe: Name
        fraction: Fraction = 0.5

    def __init__(self, lab: Lab, symbol: str, timeframe: str, fraction: float = 0.5) -> None:
        super().__init__(lab, symbol=symbol, timeframe=timeframe, fraction=fraction)
        self.path = f"/data/bars/{symbol}/{timeframe}.parquet"
        self.fraction = fraction

    def inject(self) -> dict[str, Any]:
        size = len(read_data_file(self.lab, self.path))
        if size < 16:
            raise FaultError(f"{self.path} is only {size} bytes")
        keep = _pick(self.fraction, 4, size - 9)
        run_on_data(self.lab, ["truncate", "-s", str(keep), self.path])
        return {"path": self.path, "size_before": size, "size_after": keep}


class CorruptKillSwitch(_FileFault):
    """Replace the kill-switch file with a torn JSON document (the engine must fail closed, not open)."""

    kind = "corrupt_kill_switch"
    explore = ExploreRule(no_params, (0.0, 0.0), "file", weight=0.5)
    effects = frozenset({Effect.KILL_SWITCH_DAMAGED})

    may_trip_kill_switch = True

    goals = (goal("kill_switch_unreadable", anywhere=True, why="start-up met the corrupt file"),)
    GARBAGE = '{"active": tr'

    def __init__(self, lab: Lab) -> None:
        super().__init__(lab)

    def inject(self) -> dict[str, Any]:
        before = read_data_file(self.lab, KILL_SWITCH)
        run_on_data(self.lab, ["sh", "-c", 'printf %s "$1" > "$2"', "sh", self.GARBAGE, KILL_SWITCH])
        return {"path": KILL_SWITCH, "bytes_before": len(before), "written": self.GARBAGE}

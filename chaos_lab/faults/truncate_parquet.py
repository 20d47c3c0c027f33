"""Cut a bar file short: its footer (where Parquet keeps the schema) is gone."""

from __future__ import annotations

from typing import Any

from chaos_lab.effects import Effect
from chaos_lab.faults.base import FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.file_fault import FileFault, Fraction, Name, pick
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import read_data_file, run_on_data


class TruncateParquet(FileFault):
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
        keep = pick(self.fraction, 4, size - 9)
        run_on_data(self.lab, ["truncate", "-s", str(keep), self.path])
        return {"path": self.path, "size_before": size, "size_after": keep}

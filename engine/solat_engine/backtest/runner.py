"""Run a backtest over stored bars and write its artefacts."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from solat_engine.backtest.artefacts import write_artefacts
from solat_engine.backtest.sma import BacktestResult, run_sma_cross
from solat_engine.data.parquet_store import ParquetStore

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(pattern=NAME_PATTERN)
    timeframe: str = Field(pattern=NAME_PATTERN)
    fast: int = Field(ge=1, le=10_000)
    slow: int = Field(ge=2, le=10_000)

    @model_validator(mode="after")
    def _fast_below_slow(self) -> BacktestRequest:
        if self.fast >= self.slow:
            raise ValueError("fast must be smaller than slow")
        return self


class BacktestSummary(BaseModel):
    run_id: str
    symbol: str
    timeframe: str
    fast: int
    slow: int
    bars: int
    trades: int
    initial_equity: float
    final_equity: float
    return_pct: float


def new_run_id() -> str:
    return uuid.uuid4().hex


class BacktestFailed(ValueError):
    """The run produced no meaningful result (equity overflowed to infinity or became NaN): it is reported
    as failed and no artefacts are written, rather than a "complete" run whose numbers are not numbers."""


def _check_finite(result: BacktestResult) -> None:
    for point in result.equity:
        if not math.isfinite(point.equity):
            raise BacktestFailed(f"equity is {point.equity} at {point.ts.isoformat()}: the run overflowed")
    if not math.isfinite(result.final_equity) or not math.isfinite(result.return_pct):
        raise BacktestFailed(f"final equity {result.final_equity} is not a finite number")


def run_backtest(data_dir: Path, req: BacktestRequest, run_id: str) -> BacktestSummary:
    """FileNotFoundError: no bars; CorruptDataError: damaged bars; BacktestFailed: no finite result;
    OSError: artefacts not written."""
    bars = ParquetStore(data_dir=data_dir).read_bars(req.symbol, req.timeframe)
    result = run_sma_cross(bars, req.fast, req.slow)
    _check_finite(result)
    summary = BacktestSummary(
        run_id=run_id, symbol=req.symbol, timeframe=req.timeframe, fast=req.fast, slow=req.slow,
        bars=len(bars), trades=len(result.trades), initial_equity=result.initial_equity,
        final_equity=result.final_equity, return_pct=result.return_pct,
    )
    write_artefacts(
        data_dir / "artefacts",
        run_id,
        {
            "trades.json": [t.model_dump(mode="json") for t in result.trades],
            "equity.json": [p.model_dump(mode="json") for p in result.equity],
            "summary.json": summary.model_dump(mode="json"),
        },
    )
    return summary

"""SMA-cross strategy: long (all in) while the fast mean is above the slow mean, flat otherwise."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from solat_engine.data.parquet_store import Bar


class Trade(BaseModel):
    ts: datetime
    side: Literal["BUY", "SELL"]
    price: float
    quantity: float


class EquityPoint(BaseModel):
    ts: datetime
    equity: float


class BacktestResult(BaseModel):
    trades: list[Trade]
    equity: list[EquityPoint]
    initial_equity: float
    final_equity: float

    @property
    def return_pct(self) -> float:
        return (self.final_equity / self.initial_equity - 1.0) * 100.0


class _RollingMean:
    def __init__(self, window: int) -> None:
        self.window = window
        self._values: deque[float] = deque()
        self._sum = 0.0

    def push(self, value: float) -> float | None:
        self._values.append(value)
        self._sum += value
        if len(self._values) > self.window:
            self._sum -= self._values.popleft()
        return self._sum / self.window if len(self._values) == self.window else None


def run_sma_cross(
    bars: Sequence[Bar], fast: int, slow: int, initial_equity: float = 10_000.0
) -> BacktestResult:
    """Trades at the close of the bar whose close produced the cross; no costs, no leverage."""
    if not 1 <= fast < slow:
        raise ValueError(f"need 1 <= fast < slow, got fast={fast} slow={slow}")
    fast_mean, slow_mean = _RollingMean(fast), _RollingMean(slow)
    cash, units = initial_equity, 0.0
    trades: list[Trade] = []
    equity: list[EquityPoint] = []
    for bar in bars:
        f, s = fast_mean.push(bar.close), slow_mean.push(bar.close)
        if f is not None and s is not None and bar.close > 0:
            if f > s and units == 0.0:
                units, cash = cash / bar.close, 0.0
                trades.append(Trade(ts=bar.ts, side="BUY", price=bar.close, quantity=units))
            elif f < s and units > 0.0:
                cash, sold = units * bar.close, units
                units = 0.0
                trades.append(Trade(ts=bar.ts, side="SELL", price=bar.close, quantity=sold))
        equity.append(EquityPoint(ts=bar.ts, equity=cash + units * bar.close))
    final = equity[-1].equity if equity else initial_equity
    return BacktestResult(trades=trades, equity=equity, initial_equity=initial_equity, final_equity=final)

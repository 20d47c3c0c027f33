"""Sample OHLCV bars for the bar-store tests: one definition, so every test stores the same shape of data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def sample_bars(n: int = 5) -> list[dict[str, Any]]:
    """`n` one-minute bars from 2026-01-05 14:30 UTC, each field distinct per bar."""
    start = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    return [
        {
            "ts": start + timedelta(minutes=i),
            "open": 100.0 + i,
            "high": 101.0 + i,
            "low": 99.0 + i,
            "close": 100.5 + i,
            "volume": 1000.0 * (i + 1),
        }
        for i in range(n)
    ]

"""Tier 1: Parquet bar files torn on disk, and written onto a really full disk."""

from __future__ import annotations

import errno
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from solat_engine.data.parquet_store import CorruptDataError, ParquetStore

pytestmark = [pytest.mark.chaos, pytest.mark.tier1]


def bars(n: int) -> list[dict]:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    return [
        {
            "ts": start + timedelta(minutes=i),
            "open": 1.0 + i,
            "high": 2.0 + i,
            "low": 0.5 + i,
            "close": 1.5 + i,
            "volume": 10.0 * i,
        }
        for i in range(n)
    ]


def test_parquet_partial_write__detected_and_rejected(tmp_path: Path) -> None:
    store = ParquetStore(data_dir=tmp_path)
    path = store.write_bars("EURUSD", "1h", bars(500))
    full = path.read_bytes()
    size = len(full)
    for cut in sorted({0, 3, 4, 12, 100, size // 2, size - 12, size - 8, size - 5, size - 4, size - 1}):
        with open(path, "wb") as fh:  # a real truncated file on disk
            fh.write(full[:cut])
        with pytest.raises(CorruptDataError) as info:
            store.read_bars("EURUSD", "1h")
        assert info.value.path == path and str(path) in str(info.value), cut
        assert info.value.offset is not None, cut
    path.write_bytes(full)
    assert len(store.read_bars("EURUSD", "1h")) == 500


def test_parquet_write_on_full_disk_keeps_old_series(small_disk) -> None:
    store = ParquetStore(data_dir=small_disk.root)
    path = store.write_bars("EURUSD", "1h", bars(10))
    small_disk.fill()
    with pytest.raises(OSError) as info:
        store.write_bars("EURUSD", "1h", bars(5000))
    assert info.value.errno == errno.ENOSPC
    assert len(store.read_bars("EURUSD", "1h")) == 10
    assert [p.name for p in path.parent.iterdir()] == ["1h.parquet"]

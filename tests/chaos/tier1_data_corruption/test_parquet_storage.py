"""Tier 1: Parquet bar files torn on disk, and written onto a really full disk."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from solat_engine.data.parquet_store import CorruptDataError, ParquetStore
from support.bars import sample_bars

pytestmark = [pytest.mark.chaos, pytest.mark.tier1]


def test_parquet_partial_write__detected_and_rejected(tmp_path: Path) -> None:
    store = ParquetStore(data_dir=tmp_path)
    path = store.write_bars("EURUSD", "1h", sample_bars(500))
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
    path = store.write_bars("EURUSD", "1h", sample_bars(10))
    small_disk.fill()
    with pytest.raises(OSError) as info:
        store.write_bars("EURUSD", "1h", sample_bars(5000))
    assert info.value.errno == errno.ENOSPC
    assert len(store.read_bars("EURUSD", "1h")) == 10
    assert [p.name for p in path.parent.iterdir()] == ["1h.parquet"]

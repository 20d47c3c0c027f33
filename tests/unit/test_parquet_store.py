"""Unit tests of the Parquet bar store: round trip, atomic files, structural checks on read."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError
from solat_engine.data.parquet_store import Bar, CorruptDataError, ParquetStore
from support.bars import sample_bars


def test_round_trip_sorted_and_path(tmp_path: Path) -> None:
    store = ParquetStore(data_dir=tmp_path)
    path = store.write_bars("AAPL", "1m", list(reversed(sample_bars())))
    assert path == tmp_path / "bars" / "AAPL" / "1m.parquet"
    read = store.read_bars("AAPL", "1m")
    assert [b.model_dump() for b in read] == [Bar.model_validate(b).model_dump() for b in sample_bars()]
    assert read[0].ts.utcoffset() == timedelta(0)
    assert [p.name for p in path.parent.iterdir()] == ["1m.parquet"]


def test_overwrite_replaces_series(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write_bars("AAPL", "1m", sample_bars(5))
    store.write_bars("AAPL", "1m", [Bar.model_validate(b) for b in sample_bars(2)])
    assert len(store.read_bars("AAPL", "1m")) == 2


@pytest.mark.parametrize(
    ("symbol", "timeframe"), [("../etc", "1m"), ("AAPL", "1m/../../x"), (".hidden", "1m"), ("", "1m")]
)
def test_unsafe_names_rejected(tmp_path: Path, symbol: str, timeframe: str) -> None:
    with pytest.raises(ValueError):
        ParquetStore(tmp_path).write_bars(symbol, timeframe, sample_bars(1))


def test_naive_timestamp_rejected(tmp_path: Path) -> None:
    bad = sample_bars(1)
    bad[0]["ts"] = datetime(2026, 1, 1)
    with pytest.raises(ValidationError):
        ParquetStore(tmp_path).write_bars("AAPL", "1m", bad)


def test_missing_series(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ParquetStore(tmp_path).read_bars("AAPL", "1d")


@pytest.mark.parametrize(
    ("mangle", "offset_of"),
    [
        (lambda raw: b"XXXX" + raw[4:], lambda raw: 0),
        (lambda raw: raw[:-1], lambda raw: len(raw) - 1 - 4),
        (lambda raw: raw[:8], lambda raw: 8),
        (lambda raw: raw[:-8] + (len(raw)).to_bytes(4, "little") + b"PAR1", lambda raw: len(raw) - 8),
    ],
)
def test_structural_damage_rejected_with_path_and_offset(tmp_path: Path, mangle, offset_of) -> None:
    store = ParquetStore(tmp_path)
    path = store.write_bars("AAPL", "1m", sample_bars())
    raw = path.read_bytes()
    path.write_bytes(mangle(raw))
    with pytest.raises(CorruptDataError) as info:
        store.read_bars("AAPL", "1m")
    assert info.value.path == path and str(path) in str(info.value)
    assert info.value.offset == offset_of(raw)


def test_damaged_footer_contents_rejected(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    path = store.write_bars("AAPL", "1m", sample_bars())
    raw = bytearray(path.read_bytes())
    footer_len = int.from_bytes(raw[-8:-4], "little")
    start = len(raw) - 8 - footer_len
    raw[start : start + footer_len] = b"\xff" * footer_len
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError, match="unreadable parquet"):
        store.read_bars("AAPL", "1m")


def test_wrong_schema_rejected(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    path = store.path_for("AAPL", "1m")
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"ts": [1, 2], "close": [1.0, 2.0]}), path)
    with pytest.raises(CorruptDataError, match="schema"):
        store.read_bars("AAPL", "1m")

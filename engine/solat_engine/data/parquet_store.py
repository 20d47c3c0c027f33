"""Bar store: one Parquet file per symbol and timeframe, `bars/<SYMBOL>/<TIMEFRAME>.parquet`.

Writes are atomic replaces. Reads check the file's structure (magic `PAR1` at both ends, footer length,
schema) before decoding it, so a truncated or half-written file is rejected with its name instead of
yielding partial data. pyarrow is imported here, when the engine starts and before it starts any thread:
imported lazily by the first bar request, in a worker thread while the engine's other threads ran, it
deadlocked the whole process now and then under the lab's preloads (libfiu, libfaketime); see
docs/lab-stack.md.
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from solat_engine.durable import atomic_write_bytes

MAGIC = b"PAR1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # no path separators, no "..", no hidden files
_COLUMNS = ("ts", "open", "high", "low", "close", "volume")


class CorruptDataError(Exception):
    """A stored data file is damaged; names the file and, where it makes sense, the byte offset."""

    def __init__(self, path: Path, reason: str, offset: int | None = None) -> None:
        where = f" at byte offset {offset}" if offset is not None else ""
        super().__init__(f"corrupt data file {path}{where}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


def _not_a_number(value: Any) -> Any:
    """The API documents ts as an ISO 8601 string: a bare number (read as Unix seconds) is a client bug."""
    if isinstance(value, int | float):
        raise ValueError("ts must be an ISO 8601 date-time string, not a number")
    return value


def _to_utc(value: datetime) -> datetime:
    """Any offset names one instant (RFC 3339, as the OpenAPI says); bars are stored in UTC."""
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"ts {value.isoformat()} is out of range in UTC") from exc


BarTimestamp = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_to_utc)]


class Bar(BaseModel):
    """allow_inf_nan=False: a NaN or infinite price cannot be stored, and one already on disk (written before
    this check) is reported as corrupt on read instead of breaking every JSON answer that carries it.
    strict: `false` or `"1.5"` is not a price."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    ts: BarTimestamp
    open: float = Field(strict=True)
    high: float = Field(strict=True)
    low: float = Field(strict=True)
    close: float = Field(strict=True)
    volume: float = Field(strict=True)


def _schema() -> pa.Schema:
    return pa.schema(
        [("ts", pa.timestamp("us", tz="UTC"))] + [(name, pa.float64()) for name in _COLUMNS[1:]]
    )


class ParquetStore:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)

    def path_for(self, symbol: str, timeframe: str) -> Path:
        """File of a series; ValueError for names that could escape the bar directory."""
        for label, value in (("symbol", symbol), ("timeframe", timeframe)):
            if not _NAME.match(value):
                raise ValueError(f"invalid {label} {value!r}: letters, digits, '.', '_', '-' only")
        return self.data_dir / "bars" / symbol / f"{timeframe}.parquet"

    def write_bars(self, symbol: str, timeframe: str, bars: list[Bar] | list[dict[str, Any]]) -> Path:
        """Replace the series atomically with `bars` (validated; sorted by ts)."""
        path = self.path_for(symbol, timeframe)
        rows = sorted((b if isinstance(b, Bar) else Bar.model_validate(b) for b in bars), key=lambda b: b.ts)
        columns = {name: [getattr(b, name) for b in rows] for name in _COLUMNS}
        table = pa.Table.from_pydict(columns, schema=_schema())
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        atomic_write_bytes(path, sink.getvalue().to_pybytes())
        return path

    def read_bars(self, symbol: str, timeframe: str) -> list[Bar]:
        """All bars of a series. FileNotFoundError if there is none; CorruptDataError if it is damaged."""
        path = self.path_for(symbol, timeframe)
        data = path.read_bytes()
        check_parquet_structure(path, data)
        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise CorruptDataError(path, f"unreadable parquet: {exc}") from exc
        if not table.schema.equals(_schema()):
            raise CorruptDataError(path, f"unexpected schema: {table.schema}")
        try:
            return [Bar.model_validate(row) for row in table.to_pylist()]
        except ValidationError as exc:
            raise CorruptDataError(path, f"invalid bar: {exc.errors()[0]['msg']}") from exc


def check_parquet_structure(path: Path, data: bytes) -> None:
    """Reject what a torn write leaves before pyarrow sees it: magic at both ends and a footer that fits."""
    size = len(data)
    if size < 12:
        raise CorruptDataError(path, f"file too short ({size} bytes) to be parquet", offset=size)
    if data[:4] != MAGIC:
        raise CorruptDataError(path, "missing PAR1 header magic", offset=0)
    if data[-4:] != MAGIC:
        raise CorruptDataError(path, "missing PAR1 footer magic (file truncated?)", offset=size - 4)
    (footer_len,) = struct.unpack("<I", data[-8:-4])
    if footer_len == 0 or footer_len > size - 12:
        reason = f"footer length {footer_len} does not fit in {size} bytes"
        raise CorruptDataError(path, reason, offset=size - 8)

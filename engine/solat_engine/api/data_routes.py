"""Bar store endpoints."""

from __future__ import annotations

import errno
from typing import Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from solat_engine import reach
from solat_engine.api.errors import error_response, error_responses
from solat_engine.data.parquet_store import Bar, CorruptDataError, ParquetStore

router = APIRouter(prefix="/data")

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SymbolParam = Path(pattern=NAME_PATTERN)
TimeframeParam = Path(pattern=NAME_PATTERN)


class BarsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bars: list[Bar] = Field(max_length=1_000_000)


def store_for(request: Request) -> ParquetStore:
    return ParquetStore(data_dir=request.app.state.engine.data_dir)


def storage_error(exc: OSError, what: str) -> JSONResponse:
    """507 when the disk refused (full, read-only, I/O error); the engine itself stays up."""
    status = 507 if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES) else 503
    return error_response(status, f"{what}: {exc}")


class BarsStored(BaseModel):
    ok: Literal[True]
    symbol: str
    timeframe: str
    count: int
    path: str


class BarsPage(BaseModel):
    symbol: str
    timeframe: str
    bars: list[Bar]


@router.put(
    "/bars/{symbol}/{timeframe}", response_model=None,
    responses={200: {"model": BarsStored, "description": "stored"}, **error_responses(400, 422, 503, 507)},
)
def put_bars(
    body: BarsBody, request: Request, symbol: str = SymbolParam, timeframe: str = TimeframeParam
) -> dict[str, Any] | JSONResponse:
    try:
        path = store_for(request).write_bars(symbol, timeframe, body.bars)
    except OSError as exc:
        reach.emit("bars_write_failed", errno=exc.errno)
        return storage_error(exc, "bars could not be stored")
    return {"ok": True, "symbol": symbol, "timeframe": timeframe, "count": len(body.bars), "path": str(path)}


@router.get(
    "/bars/{symbol}/{timeframe}", response_model=None,
    responses={200: {"model": BarsPage, "description": "the series"}, **error_responses(404, 422, 503, 507)},
)
def get_bars(
    request: Request, symbol: str = SymbolParam, timeframe: str = TimeframeParam
) -> dict[str, Any] | JSONResponse:
    try:
        bars = store_for(request).read_bars(symbol, timeframe)
    except FileNotFoundError:
        return error_response(404, f"no bars stored for {symbol}/{timeframe}")
    except CorruptDataError as exc:
        reach.emit("bars_read_failed", why="corrupt")
        return error_response(422, str(exc), path=str(exc.path), offset=exc.offset)
    except OSError as exc:
        reach.emit("bars_read_failed", errno=exc.errno)
        return storage_error(exc, "bars could not be read")
    return {"symbol": symbol, "timeframe": timeframe, "bars": [b.model_dump(mode="json") for b in bars]}

"""Backtest endpoints: a run that cannot write its artefacts answers 507 and the engine stays up."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from solat_engine.api.errors import ErrorBody, error_response, error_responses
from solat_engine.backtest.artefacts import RUN_ID_PATTERN, read_run
from solat_engine.backtest.runner import (
    BacktestFailed,
    BacktestRequest,
    BacktestSummary,
    new_run_id,
    run_backtest,
)
from solat_engine.data.parquet_store import CorruptDataError

router = APIRouter(prefix="/backtest")


class BacktestDone(BaseModel):
    ok: Literal[True]
    run_id: str
    summary: BacktestSummary


class BacktestRun(BacktestDone):
    complete: Literal[True]


class BacktestNotDone(ErrorBody):
    run_id: str | None = None  # absent when the request itself was malformed


@router.post(
    "/run", response_model=None,
    responses={200: {"model": BacktestDone, "description": "complete run"},
               **error_responses(404, 422, 507, model=BacktestNotDone), **error_responses(400)},
)
def post_run(req: BacktestRequest, request: Request) -> dict[str, Any] | JSONResponse:
    data_dir = request.app.state.engine.data_dir
    run_id = new_run_id()
    try:
        summary = run_backtest(data_dir, req, run_id)
    except FileNotFoundError:
        return error_response(404, f"no bars stored for {req.symbol}/{req.timeframe}", run_id=run_id)
    except CorruptDataError as exc:
        return error_response(422, str(exc), run_id=run_id, path=str(exc.path), offset=exc.offset)
    except BacktestFailed as exc:
        return error_response(422, f"backtest failed: {exc}", run_id=run_id, complete=False)
    except OSError as exc:
        reason = f"backtest artefacts could not be written: {exc}"
        return error_response(507, reason, run_id=run_id, error=reason)
    return {"ok": True, "run_id": run_id, "summary": summary.model_dump(mode="json")}


@router.get(
    "/{run_id}", response_model=None,
    responses={200: {"model": BacktestRun, "description": "a complete run"}, **error_responses(404, 422)},
)
def get_run(request: Request, run_id: str = Path(pattern=RUN_ID_PATTERN)) -> dict[str, Any] | JSONResponse:
    try:
        summary = read_run(request.app.state.engine.data_dir / "artefacts", run_id)
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or NaN/Infinity in it
        return error_response(422, f"run {run_id} artefacts unreadable: {exc}")
    if summary is None:
        return error_response(404, f"no complete backtest run {run_id}")
    return {"ok": True, "run_id": run_id, "complete": True, "summary": summary}

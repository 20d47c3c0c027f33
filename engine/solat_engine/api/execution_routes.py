"""Execution endpoints: signals in, ledger and kill switch out (docs/interfaces.md "Engine HTTP API")."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from solat_engine.api.errors import ErrorBody, error_response, error_responses
from solat_engine.engine import Engine
from solat_engine.execution.kill_switch import REASON_PATTERN, KillSwitchState
from solat_engine.execution.ledger import LedgerError
from solat_engine.execution.models import Intent, LedgerEntry, Side
from solat_engine.execution.router import Outcome, RouteResult

router = APIRouter(prefix="/execution")

SYMBOL_PATTERN = r"^[A-Z0-9][A-Z0-9._-]{0,31}$"


class SignalRequest(BaseModel):
    """Strict side and quantity: `true` or `"1e3"` is a client bug, not an order of 1 or 1000."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(pattern=SYMBOL_PATTERN)
    side: Side  # an enum: only "BUY" or "SELL" validate, never a bool or a number
    quantity: float = Field(gt=0, allow_inf_nan=False, strict=True)
    intent_id: uuid.UUID | None = None


class ActivateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000, pattern=REASON_PATTERN)


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=1000)


class LedgerPage(BaseModel):
    entries: list[LedgerEntry]
    last_seq: int


class SignalDone(BaseModel):
    """200: the broker filled or acknowledged the order."""

    ok: Literal[True]
    intent_id: uuid.UUID
    client_order_id: str
    outcome: Literal["filled", "acked"]
    broker_order_id: str | None


class SignalNotDone(ErrorBody):
    """202 unknown (may have reached the broker), 409 refused, 507 intent not durable."""

    outcome: str
    stage: str | None
    intent_id: uuid.UUID
    client_order_id: str


class KillSwitchView(KillSwitchState):
    ok: Literal[True]


class KillSwitchProblem(ErrorBody):
    active: bool


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def signal_response(result: RouteResult) -> JSONResponse:
    """HTTP status by outcome: 200 done, 202 unknown, 409 refused, 507 not durable."""
    base: dict[str, Any] = {"intent_id": str(result.intent_id), "client_order_id": result.client_order_id}
    if result.outcome in (Outcome.FILLED, Outcome.ACKED):
        body = {"ok": True, **base, "outcome": str(result.outcome), "broker_order_id": result.broker_order_id}
        return JSONResponse(status_code=200, content=body)
    status = 202 if result.outcome == Outcome.UNKNOWN else 409
    if result.stage == "ledger" and result.outcome == Outcome.REJECTED:
        status = 507
    return error_response(status, result.reason or str(result.outcome), outcome=str(result.outcome),
                          stage=result.stage, **base)


@router.post(
    "/signals", response_model=None,
    responses={200: {"model": SignalDone, "description": "filled or acknowledged"},
               **error_responses(202, 409, 507, model=SignalNotDone), **error_responses(400, 422)},
)
def post_signal(signal: SignalRequest, request: Request) -> JSONResponse:
    intent = Intent(intent_id=signal.intent_id or uuid.uuid4(), symbol=signal.symbol, side=signal.side,
                    quantity=signal.quantity)
    return signal_response(_engine(request).route(intent))


@router.get("/state")
def get_state(request: Request) -> dict[str, Any]:
    return _engine(request).state()


@router.get("/ledger", response_model=None, responses={200: {"model": LedgerPage, "description": "a page"},
                                                       **error_responses(422, 503)})
def get_ledger(
    request: Request,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> LedgerPage | JSONResponse:
    engine = _engine(request)
    if engine.ledger is None:
        return error_response(503, f"ledger unavailable: {engine.ledger_problem}")
    entries: list[LedgerEntry] = []
    try:
        for entry in engine.ledger.entries(after_seq):
            entries.append(entry)
            if len(entries) >= limit:
                break
    except LedgerError as exc:
        return error_response(503, f"ledger unreadable: {exc}")
    return LedgerPage(entries=entries, last_seq=engine.ledger.last_seq)


@router.get("/kill-switch")
def get_kill_switch(request: Request) -> KillSwitchState:
    return _engine(request).kill_switch.state()


@router.post(
    "/kill-switch/activate", response_model=None,
    responses={200: {"model": KillSwitchView, "description": "active and saved"},
               **error_responses(507, model=KillSwitchProblem), **error_responses(400, 422)},
)
def activate_kill_switch(body: ActivateRequest, request: Request) -> dict[str, Any] | JSONResponse:
    engine = _engine(request)
    problem = engine.trip(body.reason)
    if problem:
        return error_response(507, problem, active=engine.kill_switch.is_active)
    return {"ok": True, **engine.kill_switch.state().model_dump(mode="json")}


@router.post(
    "/kill-switch/reset", response_model=None,
    responses={200: {"model": KillSwitchView, "description": "inactive and saved"},
               **error_responses(400, 403, 422, 507)},
)
def reset_kill_switch(body: ResetRequest, request: Request) -> dict[str, Any] | JSONResponse:
    engine = _engine(request)
    try:
        engine.reset_kill_switch(body.token)
    except PermissionError as exc:
        return error_response(403, str(exc))
    except OSError as exc:
        return error_response(507, f"kill switch reset could not be saved (still active): {exc}")
    return {"ok": True, **engine.kill_switch.state().model_dump(mode="json")}

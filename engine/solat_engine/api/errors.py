"""One error shape for the whole API: `{"ok": false, "reason": ...}`, never a traceback.

Malformed input is the client's problem (4xx); only a genuine bug reaches the last-resort handler, which logs
the traceback server-side and answers a JSON 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The JSON body of every 4xx/5xx (declared in the OpenAPI); routes may add context fields, a 422 for
    malformed input adds `errors`."""

    model_config = ConfigDict(extra="allow")
    ok: Literal[False]
    reason: str
    errors: list[ValidationErrorItem] = Field(default_factory=list)


_DESCRIPTIONS = {
    202: "accepted, outcome unknown", 400: "request body is not JSON", 403: "forbidden", 404: "not found",
    409: "refused", 422: "malformed input or unusable stored data", 503: "temporarily unavailable",
    507: "storage refused the write",
}


def error_responses(*statuses: int, model: type[BaseModel] = ErrorBody) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entry declaring each status with the JSON error body it carries."""
    return {s: {"model": model, "description": _DESCRIPTIONS.get(s, "error")} for s in statuses}


def allowed_methods(app: FastAPI, path: str) -> str:
    """The methods the OpenAPI documents for `path` (Starlette's own 405 names only the first route's, and
    FastAPI's included routers are not plain routes to walk)."""
    paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
    if path in paths:  # a literal path wins over a template that also matches it (/backtest/run)
        return ", ".join(sorted(m.upper() for m in paths[path]))
    parts = path.rstrip("/").split("/")
    methods: set[str] = set()
    for template, operations in paths.items():
        t_parts = template.rstrip("/").split("/")
        if len(t_parts) == len(parts) and all(
            t == p or (t.startswith("{") and t.endswith("}") and p != "")
            for t, p in zip(t_parts, parts, strict=True)
        ):
            methods |= {m.upper() for m in operations}
    return ", ".join(sorted(methods))


def error_response(
    status: int, reason: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"ok": False, "reason": reason, **extra}
    return JSONResponse(status_code=status, content=jsonable_encoder(body), headers=headers)


def _text(value: object) -> str | int:
    """A location part safe to put in JSON: a lone surrogate in a dict key must not turn a 422 into a 500."""
    if isinstance(value, int):
        return value
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """loc/msg/type of each error, never the input: the input is what failed and may not even be JSON
    (NaN, 1e309, a lone surrogate), so echoing it would make the error answer itself fail."""
    return [
        {"loc": [_text(p) for p in e.get("loc", ())], "msg": _text(e.get("msg", "invalid")),
         "type": _text(e.get("type", "invalid"))}
        for e in errors
    ]


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "malformed request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc.errors())
        return error_response(422, _describe(errors), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request.app, request.url.path)
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}")

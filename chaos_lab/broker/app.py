"""Fake broker: a durable, idempotent order book the engine trades against and the checkers trust.

SQLite in WAL mode with synchronous=FULL so an acknowledged order survives a crash of the broker; every
`POST /orders` is kept in `attempts` (duplicates included) because that is the checkers' ground truth
for "no intent reached the broker twice".
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException

from chaos_lab.broker.ambiguity import AmbiguityConfig, KnobHit, Knobs, respond
from chaos_lab.broker.fields import no_bool_or_str

log = logging.getLogger("chaos_lab.broker")

DEFAULT_PRICE = 100.0
SYMBOL_PATTERN = r"^[A-Z0-9][A-Z0-9._-]{0,31}$"

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    broker_order_id TEXT NOT NULL UNIQUE,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity REAL NOT NULL,
    price REAL NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seeded INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    client_order_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    duplicate INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (symbol TEXT PRIMARY KEY, quantity REAL NOT NULL);
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


# Strict numbers: `true` or `"1e3"` is a client bug, not a quantity of 1 or 1000 (ints are still numbers).
Quantity = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
Price = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
Symbol = Annotated[str, Field(pattern=SYMBOL_PATTERN)]


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_order_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    symbol: Symbol
    side: Literal["BUY", "SELL"]  # a Literal: only these two strings validate, never a bool or a number
    quantity: Quantity


class Order(BaseModel):
    broker_order_id: str
    client_order_id: str
    status: Literal["filled"]
    symbol: str
    side: Literal["BUY", "SELL"]
    quantity: float
    price: float
    duplicate: bool = False


class BookOrder(Order):
    """An order as the admin record lists it: `seeded` when it was put there before the run (a start from
    captured data, `/admin/seed`) rather than placed by a `POST /orders` of this run."""

    seeded: bool = False


class SeedOrder(BaseModel):
    """An order the broker held before the run (`POST /admin/seed`): the engine's start-up reconcile finds it
    like any other. No attempt is recorded for it: attempts are what reached the broker during the run."""

    model_config = ConfigDict(extra="forbid")
    broker_order_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    client_order_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    symbol: Symbol
    side: Literal["BUY", "SELL"]
    # bounded: a seeded order skips the balance check, and |position| x price must stay a finite margin
    quantity: Annotated[Quantity, Field(le=1e9)]
    price: Annotated[Price, Field(le=1e9)]


class SeedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orders: list[SeedOrder] = Field(max_length=100_000)


class Account(BaseModel):
    balance: float
    used: float
    available: float
    currency: Literal["USD"] = "USD"
    as_of: str


PRICES_SCHEMA = {
    "type": "object", "maxProperties": 1000, "additionalProperties": False,
    "patternProperties": {SYMBOL_PATTERN: {"type": "number", "exclusiveMinimum": 0}},
}


class AdminConfig(BaseModel):
    """Fault knobs. Fields left out keep their current value."""

    model_config = ConfigDict(extra="forbid")
    order_delay_s: float | None = Field(default=None, ge=0, le=120, allow_inf_nan=False, strict=True)
    fail_next: Annotated[int, Field(ge=0, le=10_000), BeforeValidator(no_bool_or_str)] | None = None
    # patternProperties alone would let the OpenAPI accept any other key: the schema says it is the only one
    prices: Annotated[dict[Symbol, Price], Field(max_length=1000), WithJsonSchema(PRICES_SCHEMA)] | None = (
        None
    )
    ambiguity: AmbiguityConfig | None = None  # per-order post-commit failures (broker/ambiguity.py)


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer (declared in the OpenAPI); a 422 for malformed input adds `errors`."""

    ok: Literal[False]
    reason: str
    errors: list[ValidationErrorItem] = Field(default_factory=list)


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "request body is not JSON"},
    404: {"model": ErrorBody, "description": "unknown order"},
    409: {"model": ErrorBody, "description": "insufficient available balance, or a seeded order that exists"},
    422: {"model": ErrorBody, "description": "malformed input"},
    503: {"model": ErrorBody, "description": "injected failure (fail_next) or order not processed"},
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: ERRORS[s] for s in statuses}


class Attempt(BaseModel):
    seq: int
    client_order_id: str
    received_at: str
    duplicate: bool
    outcome: Literal["filled", "duplicate", "failed", "rejected"]
    body: dict[str, Any]


class _SeedConflict(ValueError):
    """A seeded order that is in the book already: the whole seed is rolled back."""


class BrokerStore:
    """All broker state behind one lock: orders are rare and correctness beats throughput here."""

    def __init__(self, db_path: Path, balance: float) -> None:
        self.balance = balance
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(db_path), isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self.knobs = Knobs()
        self.account_reads: list[str] = []  # wall time of each GET /account (balance_fresh's evidence)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _config(self, db: sqlite3.Connection) -> dict[str, Any]:
        return {row["key"]: json.loads(row["value"]) for row in db.execute("SELECT key, value FROM config")}

    def config(self) -> dict[str, Any]:
        with self._tx() as db:
            return self._config(db)

    def set_config(self, cfg: AdminConfig) -> dict[str, Any]:
        with self._tx() as db:
            current = self._config(db)
            for key, value in cfg.model_dump(exclude_none=True).items():
                if key == "prices":
                    value = {**current.get("prices", {}), **value}
                db.execute(
                    "INSERT OR REPLACE INTO config VALUES (?, ?)", (key, json.dumps(value, allow_nan=False))
                )
            return self._config(db)

    def reset(self) -> None:
        with self._tx() as db:
            for table in ("orders", "attempts", "positions", "config"):
                db.execute(f"DELETE FROM {table}")
        self.knobs.reset()
        self.account_reads.clear()

    @staticmethod
    def _price(cfg: dict[str, Any], symbol: str) -> float:
        """ValueError for a stored price that is not a finite positive number (config written before the
        admin endpoint validated prices)."""
        price = cfg.get("prices", {}).get(symbol, DEFAULT_PRICE)
        if isinstance(price, bool) or not isinstance(price, int | float) or not 0 < price < math.inf:
            raise ValueError(f"configured price of {symbol} is not a finite positive number: {price!r}")
        return float(price)

    def _exposures(self, db: sqlite3.Connection, cfg: dict[str, Any]) -> dict[str, float]:
        """Margin in use per symbol: |net position| x price (a SELL after a BUY frees margin)."""
        rows = db.execute("SELECT symbol, quantity FROM positions").fetchall()
        return {r["symbol"]: abs(float(r["quantity"])) * self._price(cfg, r["symbol"]) for r in rows}

    def _used(self, db: sqlite3.Connection) -> float:
        return sum(self._exposures(db, self._config(db)).values())

    def account(self) -> Account:
        with self._tx() as db:
            used = self._used(db)
            if len(self.account_reads) < 100_000:
                self.account_reads.append(_now())
        return Account(balance=self.balance, used=used, available=self.balance - used, as_of=_now())

    def _attempt(self, db: sqlite3.Connection, req: OrderRequest, duplicate: bool, outcome: str) -> None:
        db.execute(
            "INSERT INTO attempts (client_order_id, received_at, duplicate, outcome, body)"
            " VALUES (?,?,?,?,?)",
            (req.client_order_id, _now(), int(duplicate), outcome, req.model_dump_json()),
        )

    def place(self, req: OrderRequest) -> tuple[int, dict[str, Any], float, AmbiguityConfig | None]:
        """Returns (status, body, delay, knob). The order is committed before the caller sleeps `delay` or
        applies the knob.

        Every well-formed order lands in `attempts`, even one the book cannot process (a stored price that
        is not a usable number, a database error): it is recorded as `failed` (nothing created) and
        answered 503, because the checkers count attempts as what reached the broker."""
        try:
            return self._place(req)
        except (sqlite3.Error, ValueError, TypeError) as exc:
            log.exception("order %s could not be processed", req.client_order_id)
            with self._tx() as db:
                self._attempt(db, req, False, "failed")
            return 503, {"ok": False, "reason": f"order not processed: {type(exc).__name__}"}, 0.0, None

    def _place(self, req: OrderRequest) -> tuple[int, dict[str, Any], float, AmbiguityConfig | None]:
        with self._tx() as db:
            cfg = self._config(db)
            delay = float(cfg.get("order_delay_s", 0.0))
            fail_next = int(cfg.get("fail_next", 0))
            if fail_next > 0:
                db.execute(
                    "INSERT OR REPLACE INTO config VALUES ('fail_next', ?)", (json.dumps(fail_next - 1),)
                )
                self._attempt(db, req, False, "failed")
                return 503, {"ok": False, "reason": "injected failure (fail_next)"}, 0.0, None
            existing = db.execute(
                "SELECT * FROM orders WHERE client_order_id = ?", (req.client_order_id,)
            ).fetchone()
            if existing is not None:
                self._attempt(db, req, True, "duplicate")
                return 200, {**self._order(existing).model_dump(), "duplicate": True}, delay, None
            price = self._price(cfg, req.symbol)
            signed = req.quantity if req.side == "BUY" else -req.quantity
            exposures = self._exposures(db, cfg)
            row = db.execute("SELECT quantity FROM positions WHERE symbol = ?", (req.symbol,)).fetchone()
            current = float(row["quantity"]) if row else 0.0
            used_now = sum(exposures.values())
            used_after = used_now - exposures.get(req.symbol, 0.0) + abs(current + signed) * price
            if used_after > self.balance and used_after > used_now:
                self._attempt(db, req, False, "rejected")
                return 409, {"ok": False, "reason": "insufficient available balance"}, 0.0, None
            seq = db.execute("SELECT COUNT(*) AS n FROM orders").fetchone()["n"] + 1
            knob = self.knobs.pick(cfg.get("ambiguity"), seq, req.client_order_id)
            if knob is not None and knob.mode == "partial_fill":  # IOC: the rest is cancelled
                req = req.model_copy(update={"quantity": round(req.quantity * knob.fill_fraction, 6)})
                signed = req.quantity if req.side == "BUY" else -req.quantity
            order = Order(
                broker_order_id=f"B-{seq:08d}-{req.client_order_id[-8:]}",
                client_order_id=req.client_order_id,
                status="filled",
                symbol=req.symbol,
                side=req.side,
                quantity=req.quantity,
                price=price,
            )
            db.execute(
                "INSERT INTO orders (client_order_id, broker_order_id, symbol, side, quantity, price, status,"
                " created_at) VALUES (?,?,?,?,?,?,?,?)",
                (order.client_order_id, order.broker_order_id, order.symbol, order.side, order.quantity,
                 order.price, order.status, _now()),
            )
            db.execute(
                "INSERT INTO positions VALUES (?, ?)"
                " ON CONFLICT(symbol) DO UPDATE SET quantity = quantity + ?",
                (order.symbol, signed, signed),
            )
            self._attempt(db, req, False, "filled")
            if knob is not None and knob.mode == "commit_then_late":
                delay = max(delay, knob.late_s)
            return 200, order.model_dump(), delay, knob

    @staticmethod
    def _order(row: sqlite3.Row) -> Order:
        return Order(**{k: row[k] for k in Order.model_fields if k != "duplicate"})

    def order(self, client_order_id: str) -> Order | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM orders WHERE client_order_id = ?", (client_order_id,)).fetchone()
        return None if row is None else self._order(row)

    def orders(self) -> list[BookOrder]:
        with self._tx() as db:
            rows = db.execute("SELECT * FROM orders ORDER BY rowid").fetchall()
        return [BookOrder(**self._order(r).model_dump(), seeded=bool(r["seeded"])) for r in rows]

    def seed(self, orders: list[SeedOrder]) -> None:
        """Put orders the broker held before the run in the book (and their positions), all or none:
        _SeedConflict for an order id given twice or already in the book."""
        with self._tx() as db:
            for o in orders:
                there = db.execute(
                    "SELECT 1 FROM orders WHERE client_order_id = ? OR broker_order_id = ?",
                    (o.client_order_id, o.broker_order_id),
                ).fetchone()
                if there is not None:
                    raise _SeedConflict(f"order {o.client_order_id} ({o.broker_order_id}) is in the book")
                db.execute(
                    "INSERT INTO orders (client_order_id, broker_order_id, symbol, side, quantity, price,"
                    " status, created_at, seeded) VALUES (?,?,?,?,?,?,'filled',?,1)",
                    (o.client_order_id, o.broker_order_id, o.symbol, o.side, o.quantity, o.price, _now()),
                )
                signed = o.quantity if o.side == "BUY" else -o.quantity
                db.execute(
                    "INSERT INTO positions VALUES (?, ?)"
                    " ON CONFLICT(symbol) DO UPDATE SET quantity = quantity + ?",
                    (o.symbol, signed, signed),
                )

    def positions(self) -> dict[str, float]:
        with self._tx() as db:
            rows = db.execute("SELECT symbol, quantity FROM positions ORDER BY symbol").fetchall()
        return {r["symbol"]: float(r["quantity"]) for r in rows}

    def attempts(self) -> list[Attempt]:
        with self._tx() as db:
            rows = db.execute("SELECT * FROM attempts ORDER BY seq").fetchall()
        return [
            Attempt(seq=r["seq"], client_order_id=r["client_order_id"], received_at=r["received_at"],
                    duplicate=bool(r["duplicate"]), outcome=r["outcome"], body=json.loads(r["body"]))
            for r in rows
        ]


def _error(status: int, reason: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"ok": False, "reason": reason, **extra}, headers=headers)


def _text(value: object) -> str | int:
    """JSON-safe location part: a lone surrogate in a dict key must not turn a 422 into a 500."""
    if isinstance(value, int):
        return value
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def allowed_methods(app: FastAPI, path: str) -> str:
    """The methods the OpenAPI documents for `path`: Starlette's own 405 names only the first route's."""
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


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """loc/msg/type of each error, never the input: what failed validation may not be JSON at all (NaN,
    1e309, a lone surrogate), and echoing it made the 422 itself fail with a 500."""
    return [
        {"loc": [_text(p) for p in e.get("loc", ())], "msg": _text(e.get("msg", "invalid")),
         "type": _text(e.get("type", "invalid"))}
        for e in errors
    ]


def create_app(db_path: Path | None = None, balance: float | None = None) -> FastAPI:
    """App factory (uvicorn --factory): configuration from BROKER_DB / BROKER_BALANCE."""
    path = db_path or Path(os.environ.get("BROKER_DB", "./broker.sqlite3"))
    start_balance = balance if balance is not None else float(os.environ.get("BROKER_BALANCE", "1000000"))
    store = BrokerStore(path, start_balance)
    app = FastAPI(title="chaos-lab fake broker")
    app.state.store = store

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "malformed request", errors=validation_errors(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(app, request.url.path)
        return _error(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error(500, f"internal error: {type(exc).__name__}")

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/account")
    def account() -> Account:
        return store.account()

    @app.post(
        "/orders", response_model=None,
        responses={200: {"model": Order, "description": "filled (or the earlier fill, duplicate=true)"},
                   **errors(400, 409, 422, 503)},
    )
    def place_order(req: OrderRequest) -> Response:
        status, body, delay, knob = store.place(req)
        failed_answer = respond(knob, body) if knob is not None else None
        if failed_answer is not None:
            return failed_answer
        if delay > 0:
            time.sleep(delay)  # committed already: a client that gives up still leaves a filled order
        return JSONResponse(status_code=status, content=body)

    @app.get(
        "/orders/{client_order_id}", response_model=None,
        responses={200: {"model": Order, "description": "the order"}, **errors(404, 422)},
    )
    def get_order(client_order_id: str) -> JSONResponse:
        order = store.order(client_order_id)
        if order is None:
            return _error(404, "unknown client_order_id")
        return JSONResponse(order.model_dump())

    @app.get("/positions")
    def positions() -> dict[str, dict[str, float]]:
        return {"positions": store.positions()}

    @app.get("/admin/attempts")
    def attempts() -> dict[str, list[Attempt]]:
        return {"attempts": store.attempts()}

    @app.get("/admin/account-reads")
    def account_reads() -> dict[str, list[str]]:
        return {"reads": list(store.account_reads)}

    @app.get("/admin/knobs")
    def knobs() -> dict[str, list[KnobHit]]:
        return {"knobs": store.knobs.hits}

    @app.get("/admin/orders")
    def orders() -> dict[str, list[BookOrder]]:
        return {"orders": store.orders()}

    @app.post("/admin/seed", response_model=None,
              responses={200: {"description": "seeded"}, **errors(400, 409, 422)})
    def seed(req: SeedRequest) -> JSONResponse:
        try:
            store.seed(req.orders)
        except _SeedConflict as exc:
            return _error(409, str(exc))
        return JSONResponse({"ok": True, "seeded": len(req.orders)})

    @app.get("/admin/config")
    def get_config() -> dict[str, Any]:
        return store.config()

    @app.post("/admin/config", responses=errors(400, 422))
    def set_config(cfg: AdminConfig) -> dict[str, Any]:
        return store.set_config(cfg)

    @app.post("/admin/reset")
    def reset() -> dict[str, bool]:
        store.reset()
        return {"ok": True}

    return app

"""HTTP client for the broker.

The one distinction that matters for never losing or doubling an order: a *definite* answer (2xx, or a 4xx
rejection: the broker refused and holds nothing) versus an *unknown* outcome (timeout, connection reset,
5xx after the request may have been processed). Unknown outcomes are resolved later by client_order_id.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Literal

import requests
from pydantic import BaseModel, ValidationError
from urllib3.exceptions import NewConnectionError

from solat_engine import reach
from solat_engine.execution.models import Side


class BrokerError(Exception):
    """The broker could not be asked or its answer could not be understood (reads: nothing changed)."""


class BrokerRejected(BrokerError):
    """The broker definitively refused the request (4xx): nothing was recorded there."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"broker rejected ({status}): {reason}")
        self.status = status
        self.reason = reason


class BrokerNotSent(BrokerRejected):
    """The connection to the broker was never established (refused, connect timeout): no byte of the order
    left this process, so it is as definite as a rejection and the intent can be closed."""

    def __init__(self, reason: str) -> None:
        super().__init__(0, reason)


class BrokerOutcomeUnknown(BrokerError):
    """The order may or may not have reached the broker (timeout, reset, 5xx)."""


class Account(BaseModel):
    balance: float
    used: float
    available: float
    currency: str = "USD"
    as_of: datetime


class BrokerOrder(BaseModel):
    broker_order_id: str
    client_order_id: str
    status: Literal["filled", "accepted", "acked"]
    symbol: str
    side: Side
    quantity: float
    price: float | None = None
    duplicate: bool = False


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when urllib3 failed to open the TCP connection (refused, no route): nothing was sent.

    A reset or a closed keep-alive connection after the request went out stays unknown.
    """
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, NewConnectionError)


class BrokerClient:
    """Thread-safe: one requests.Session per thread (Session is not documented as thread-safe)."""

    def __init__(self, base_url: str, connect_timeout: float = 1.0, read_timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        timeout = kwargs.pop("timeout", self.timeout)
        # The background health probe has its own event: a sick link must be shown to have met an order.
        event = "broker_probe_failed" if path == "/health" else "broker_request_failed"
        call = f"{method} {path.split('/')[1] if path.count('/') else path}"  # no order ids in events
        try:
            resp = self._session().request(method, self.base_url + path, timeout=timeout, **kwargs)
        except requests.ConnectTimeout as exc:
            reach.emit(event, call=call, error="connect_timeout")
            raise BrokerNotSent(f"{method} {path}: broker unreachable, not sent: connect timeout") from exc
        except requests.ConnectionError as exc:
            if _never_connected(exc):
                reach.emit(event, call=call, error="not_connected")
                raise BrokerNotSent(f"{method} {path}: broker unreachable, not sent: {exc}") from exc
            reach.emit(event, call=call, error="connection_lost")
            raise BrokerOutcomeUnknown(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        except requests.RequestException as exc:
            error = "read_timeout" if isinstance(exc, requests.Timeout) else type(exc).__name__
            reach.emit(event, call=call, error=error)
            raise BrokerOutcomeUnknown(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500:
            reach.emit(event, call=call, error="http_5xx", status=resp.status_code)
        return resp

    @staticmethod
    def _reason(resp: requests.Response) -> str:
        try:
            body = resp.json()
        except ValueError:
            return resp.text[:200] or resp.reason
        if isinstance(body, dict) and "reason" in body:
            return str(body["reason"])
        return str(body)[:200]

    def _read(self, path: str, **kwargs: Any) -> requests.Response:
        """GET that must succeed; any failure is a BrokerError (a read changes nothing at the broker)."""
        try:
            resp = self._request("GET", path, **kwargs)
        except (BrokerOutcomeUnknown, BrokerNotSent) as exc:
            raise BrokerError(str(exc)) from exc
        return resp

    def _parse(self, model: type[BaseModel], resp: requests.Response, what: str) -> Any:
        try:
            return model.model_validate(resp.json())
        except (ValueError, ValidationError) as exc:
            raise BrokerError(f"{what}: unreadable broker answer: {exc}") from exc

    def health(self) -> bool:
        """Short timeouts: a health probe must answer quickly even when the broker link is sick."""
        quick = (min(self.timeout[0], 0.5), min(self.timeout[1], 1.0))
        try:
            return self._read("/health", timeout=quick).status_code == 200
        except BrokerError:
            return False

    def get_account(self) -> Account:
        resp = self._read("/account")
        if resp.status_code != 200:
            raise BrokerError(f"GET /account: HTTP {resp.status_code}: {self._reason(resp)}")
        return self._parse(Account, resp, "GET /account")

    def get_positions(self) -> dict[str, float]:
        resp = self._read("/positions")
        if resp.status_code != 200:
            raise BrokerError(f"GET /positions: HTTP {resp.status_code}: {self._reason(resp)}")
        try:
            return {str(k): float(v) for k, v in resp.json()["positions"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BrokerError(f"GET /positions: unreadable broker answer: {exc}") from exc

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        """The broker's order for this id, or None when the broker definitely never received it (404)."""
        resp = self._read(f"/orders/{client_order_id}")
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise BrokerError(f"GET /orders/{client_order_id}: HTTP {resp.status_code}: {self._reason(resp)}")
        return self._parse(BrokerOrder, resp, "GET /orders")

    def place_order(self, client_order_id: str, symbol: str, side: Side, quantity: float) -> BrokerOrder:
        """Raises BrokerRejected (4xx, or BrokerNotSent: never connected; both definite) or
        BrokerOutcomeUnknown (anything else that is not 2xx)."""
        body = {"client_order_id": client_order_id, "symbol": symbol, "side": str(side), "quantity": quantity}
        resp = self._request("POST", "/orders", json=body)
        if 400 <= resp.status_code < 500:
            raise BrokerRejected(resp.status_code, self._reason(resp))
        if resp.status_code != 200:
            raise BrokerOutcomeUnknown(f"POST /orders: HTTP {resp.status_code}: {self._reason(resp)}")
        try:
            return BrokerOrder.model_validate(resp.json())
        except (ValueError, ValidationError) as exc:
            # The broker said 200 but we cannot read what it did: the order may exist.
            raise BrokerOutcomeUnknown(f"POST /orders: unreadable answer: {exc}") from exc

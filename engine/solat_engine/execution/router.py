"""Execution router: turns a risk-accepted intent into at most one broker order, durably recorded.

Invariants this module exists to keep:
- no order reaches the broker unless its `intent` record is durable in the ledger;
- an intent is sent under one client_order_id only ("SOLAT-" + intent_id.hex), so a retry is idempotent
  at the broker and the engine never doubles an order by resubmitting under a new id;
- an outcome the engine could not learn (timeout, reset) is recorded `unknown` and resolved by asking the
  broker for that client_order_id, never by guessing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from solat_engine import reach
from solat_engine.broker_client import (
    Account,
    BrokerClient,
    BrokerError,
    BrokerOrder,
    BrokerOutcomeUnknown,
    BrokerRejected,
)
from solat_engine.execution.kill_switch import KillSwitch
from solat_engine.execution.ledger import ExecutionLedger, IntentState, LedgerError
from solat_engine.execution.models import (
    TERMINAL_TYPES,
    EntryType,
    Intent,
    LedgerEntry,
    client_order_id_for,
)

log = logging.getLogger(__name__)

POSITION_TOLERANCE = 1e-9


class Outcome(StrEnum):
    FILLED = "filled"
    ACKED = "acked"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


class RouteResult(BaseModel):
    """What the router did with an intent. `stage` says who refused: risk, broker, ledger (not durable)."""

    outcome: Outcome
    intent_id: UUID
    client_order_id: str
    broker_order_id: str | None = None
    reason: str | None = None
    stage: Literal["risk", "broker", "ledger"] | None = None


class RouterConfig(BaseModel):
    max_order_qty: float = 1000.0
    balance_max_age: float = 300.0


_SETTLED_TYPES = frozenset({*TERMINAL_TYPES, EntryType.ACK})


@dataclass(frozen=True, slots=True)
class IntentView:
    """One intent as the router sees it: the ledger's fold (`IntentState`) plus `durable`, which only the
    router knows (False: the broker answered but that outcome could not be written; the ledger says less)."""

    intent: Intent
    state: EntryType
    broker_order_id: str | None
    reason: str | None
    durable: bool

    @property
    def open(self) -> bool:
        return self.state not in _SETTLED_TYPES or not self.durable


@dataclass
class _IntentLocks:
    """One lock per intent while someone holds or waits for it; dropped after, so memory stays bounded."""

    guard: threading.Lock = field(default_factory=threading.Lock)
    locks: dict[UUID, tuple[threading.Lock, int]] = field(default_factory=dict)

    @contextmanager
    def hold(self, intent_id: UUID) -> Iterator[None]:
        with self.guard:
            lock, users = self.locks.get(intent_id, (threading.Lock(), 0))
            self.locks[intent_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self.guard:
                lock, users = self.locks[intent_id]
                if users == 1:
                    del self.locks[intent_id]
                else:
                    self.locks[intent_id] = (lock, users - 1)


class ExecutionRouter:
    """Thread-safe. The same intent is serialised by a per-intent lock; different intents run in parallel."""

    def __init__(
        self,
        ledger: ExecutionLedger,
        kill_switch: KillSwitch,
        broker: BrokerClient,
        config: RouterConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_record: Callable[[LedgerEntry], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.on_record = on_record
        self.kill_switch = kill_switch
        self.broker = broker
        self.config = config or RouterConfig()
        self.clock = clock
        self._locks = _IntentLocks()
        self._state = threading.Lock()  # guards _undurable
        self._undurable: set[str] = set()  # intent keys whose last broker outcome could not be written
        self.balance: Account | None = None
        self.balance_fetched_at: float | None = None
        self._blocked: str | None = "startup reconcile has not completed"

    # ---- state: the ledger's replay is the one fold (it applies each record as it becomes durable) ----
    def _view(self, intent_id: UUID) -> IntentView | None:
        """The intent as the ledger has folded it, or None if no `intent` record was written for it."""
        state = self.ledger.intent(intent_id)
        if state is None or state.symbol is None:  # records without an intent (never written by the router)
            return None
        intent = Intent(intent_id=intent_id, symbol=state.symbol, side=state.side, quantity=state.quantity)
        with self._state:
            durable = state.key not in self._undurable
        return IntentView(intent, state.state, state.broker_order_id, state.reason, durable)

    def _record(self, entry_type: EntryType, intent_id: UUID, payload: dict[str, Any]) -> LedgerEntry:
        """Append durably (the ledger folds the record into its state before returning): memory never runs
        ahead of the ledger."""
        entry = self.ledger.append(entry_type, intent_id, payload)
        with self._state:
            self._undurable.discard(str(intent_id))
        if self.on_record is not None:
            self.on_record(entry)
        return entry

    def open_intents(self) -> list[UUID]:
        with self._state:
            undurable = frozenset(self._undurable)

        def is_open(state: IntentState) -> bool:  # the same rule as IntentView.open
            return state.symbol is not None and (state.state not in _SETTLED_TYPES or state.key in undurable)

        return self.ledger.intent_ids(is_open)

    def positions_copy(self) -> dict[str, float]:
        return {s: q for s, q in self.ledger.positions().items() if abs(q) > POSITION_TOLERANCE}

    # ---- trading gate -----------------------------------------------------------------------------
    def block(self, reason: str) -> None:
        self._blocked = reason

    def unblock(self) -> None:
        self._blocked = None

    @property
    def blocked_reason(self) -> str | None:
        return self._blocked

    # ---- balance ----------------------------------------------------------------------------------
    def refresh_balance(self) -> Account:
        """Ask the broker; raises BrokerError. Keeps the old balance (and its age) on failure."""
        account = self.broker.get_account()
        self.balance = account
        self.balance_fetched_at = self.clock()
        return account

    def balance_age(self) -> float | None:
        return None if self.balance_fetched_at is None else self.clock() - self.balance_fetched_at

    def _balance_problem(self) -> str | None:
        age = self.balance_age()
        if self.balance is None or age is None:
            return "balance never fetched from the broker"
        if age > self.config.balance_max_age:
            try:
                self.refresh_balance()
            except BrokerError as exc:
                limit = self.config.balance_max_age
                reach.emit("balance_stale_refused", age_s=round(age, 3), limit_s=limit)
                return f"balance stale ({age:.0f}s > {limit:.0f}s) and refresh failed: {exc}"
            reach.emit("balance_refreshed_stale", age_s=round(age, 3), limit_s=self.config.balance_max_age)
        if self.balance.available <= 0:
            return f"no available balance ({self.balance.available})"
        return None

    def _risk_problem(self, intent: Intent) -> str | None:
        """Order of checks from the spec: kill switch, balance, (startup reconcile done), size limits."""
        if self.kill_switch.is_active:
            return f"kill switch active: {self.kill_switch.reason}"
        balance = self._balance_problem()
        if balance:
            return balance
        if self._blocked:
            return f"trading blocked: {self._blocked}"
        if intent.quantity > self.config.max_order_qty:
            return f"quantity {intent.quantity} exceeds the per-order limit {self.config.max_order_qty}"
        return None

    # ---- routing ----------------------------------------------------------------------------------
    def route_intent(self, intent: Intent) -> RouteResult:
        with self._locks.hold(intent.intent_id):
            known = self._view(intent.intent_id)
            if known is not None:
                return self._resume(known, intent)
            return self._route_new(intent)

    def _result(self, intent: Intent, outcome: Outcome, **kw: Any) -> RouteResult:
        return RouteResult(outcome=outcome, intent_id=intent.intent_id,
                           client_order_id=client_order_id_for(intent.intent_id), **kw)

    def _route_new(self, intent: Intent) -> RouteResult:
        problem = self._risk_problem(intent)
        if problem:  # not written: a full disk must not stop the engine from saying no
            reach.emit("refused_to_trade", stage="risk", why=problem.split(" ")[0])
            return self._result(intent, Outcome.REJECTED, reason=problem, stage="risk")
        payload = {"symbol": intent.symbol, "side": str(intent.side), "quantity": intent.quantity,
                   "client_order_id": intent.client_order_id}
        try:
            self._record(EntryType.INTENT, intent.intent_id, payload)
        except LedgerError as exc:
            log.error("intent %s not durable, not sent: %s", intent.intent_id, exc)
            reach.emit("refused_to_trade", stage="ledger", errno=reach.errno_of(exc))
            return self._result(intent, Outcome.REJECTED, reason=f"intent could not be made durable: {exc}",
                                stage="ledger")
        return self._send(intent)

    def _send(self, intent: Intent) -> RouteResult:
        coid = intent.client_order_id
        try:
            order = self.broker.place_order(coid, intent.symbol, intent.side, intent.quantity)
        except BrokerRejected as exc:
            return self._outcome(intent, [(EntryType.SUBMITTED, {"client_order_id": coid}),
                                          (EntryType.REJECT, {"reason": exc.reason, "stage": "broker"})])
        except BrokerOutcomeUnknown as exc:
            return self._outcome(intent, [(EntryType.UNKNOWN, {"client_order_id": coid, "reason": str(exc)})])
        return self._outcome(intent, [(EntryType.SUBMITTED, {"client_order_id": coid}),
                                      self._order_record(EntryType.FILL, order)])

    @staticmethod
    def _order_record(fill_type: EntryType, order: BrokerOrder) -> tuple[EntryType, dict[str, Any]]:
        if order.status != "filled":
            return EntryType.ACK, {"client_order_id": order.client_order_id,
                                   "broker_order_id": order.broker_order_id}
        payload = {"client_order_id": order.client_order_id, "broker_order_id": order.broker_order_id,
                   "symbol": order.symbol, "side": str(order.side), "quantity": order.quantity,
                   "price": order.price if order.price is not None else 0.0}
        if fill_type == EntryType.RECONCILED:
            payload["source"] = "reconcile"
        return fill_type, payload

    def _outcome(self, intent: Intent, records: list[tuple[EntryType, dict[str, Any]]]) -> RouteResult:
        """Write the broker's answer; if that fails the intent stays open (resolved on retry/restart)."""
        try:
            for entry_type, payload in records:
                self._record(entry_type, intent.intent_id, payload)
        except LedgerError as exc:
            log.error("outcome of intent %s not durable: %s", intent.intent_id, exc)
            with self._state:
                self._undurable.add(str(intent.intent_id))
            return self._result(intent, Outcome.UNKNOWN, stage="ledger",
                                reason=f"broker answered but the outcome could not be recorded: {exc}")
        view = self._view(intent.intent_id)
        assert view is not None  # its intent record is durable: written before the broker was asked
        if view.state == EntryType.FILL:
            self._refresh_after_fill()
        return self._view_result(view)

    def _refresh_after_fill(self) -> None:
        try:
            self.refresh_balance()
        except BrokerError as exc:  # the old balance ages out and is refreshed before the next order
            log.warning("balance refresh after fill failed: %s", exc)

    def _view_result(self, view: IntentView) -> RouteResult:
        intent = view.intent
        if view.state in (EntryType.FILL, EntryType.RECONCILED):
            return self._result(intent, Outcome.FILLED, broker_order_id=view.broker_order_id)
        if view.state == EntryType.ACK:
            return self._result(intent, Outcome.ACKED, broker_order_id=view.broker_order_id)
        if view.state == EntryType.REJECT:
            return self._result(intent, Outcome.REJECTED, reason=view.reason, stage="broker")
        if view.state == EntryType.NOT_SENT:
            return self._result(intent, Outcome.REJECTED, stage="broker",
                                reason="the broker never received this intent (found at reconcile)")
        return self._result(intent, Outcome.UNKNOWN, reason=view.reason or "broker outcome unknown")

    def _resume(self, view: IntentView, intent: Intent) -> RouteResult:
        """A repeat of a known intent_id: never a new order; resolve an open one by asking the broker."""
        if (view.intent.symbol, view.intent.side, view.intent.quantity) != (
            intent.symbol, intent.side, intent.quantity
        ):
            return self._result(intent, Outcome.REJECTED, stage="risk",
                                reason="intent_id already used for a different order")
        if not view.open:
            return self._view_result(view)
        try:
            order = self.broker.get_order(view.intent.client_order_id)
        except BrokerError as exc:
            reach.emit("retry_lookup", result="failed")
            return self._result(intent, Outcome.UNKNOWN, reason=f"outcome still unknown: {exc}")
        reach.emit("retry_lookup", result="not_found" if order is None else "found")
        if order is not None:
            return self._outcome(view.intent, [self._order_record(EntryType.FILL, order)])
        if self.kill_switch.is_active or self._blocked:
            why = f"kill switch active: {self.kill_switch.reason}" if self.kill_switch.is_active else (
                f"trading blocked: {self._blocked}")
            return self._result(intent, Outcome.REJECTED, stage="risk", reason=why)
        # 404: the broker never got it; re-sending under the SAME client_order_id is idempotent there.
        return self._send(view.intent)

    def undurable_count(self) -> int:
        """Intents whose broker answer is not in the ledger yet (their fills are missing from positions)."""
        with self._state:
            return len(self._undurable)

    def resolve_undurable(self) -> int:
        """Ask the broker about every intent whose answer could not be recorded (the ledger failed after the
        broker answered) and record what it holds. Run as soon as the ledger writes again: until then the
        fill exists at the broker but not in the positions, and no client retry or restart may ever come.
        Raises BrokerError / LedgerError (the rest stay pending)."""
        with self._state:
            keys = sorted(self._undurable)
        return self._resolve([UUID(k) for k in keys])

    # ---- startup reconciliation -------------------------------------------------------------------
    def reconcile_open_intents(self) -> int:
        """Resolve every open intent with the broker. Raises BrokerError (rest left open) / LedgerError."""
        return self._resolve(self.open_intents())

    def _resolve(self, intent_ids: list[UUID]) -> int:
        """Record the broker's view of each still-open intent: its order (filled/acked) or `not_sent`."""
        resolved = 0
        for intent_id in intent_ids:
            with self._locks.hold(intent_id):
                view = self._view(intent_id)
                if view is None or not view.open:
                    continue
                coid = view.intent.client_order_id
                try:
                    order = self.broker.get_order(coid)
                except BrokerError:
                    reach.emit("reconcile_lookup", result="failed")
                    raise
                reach.emit("reconcile_lookup", result="not_found" if order is None else "found")
                if order is None:
                    self._record(EntryType.NOT_SENT, intent_id, {"client_order_id": coid})
                else:
                    entry_type, payload = self._order_record(EntryType.RECONCILED, order)
                    self._record(entry_type, intent_id, payload)
                resolved += 1
        return resolved

    def position_drift(self) -> dict[str, tuple[float, float]]:
        """{symbol: (engine, broker)} for every symbol where the engine and the broker disagree."""
        broker = self.broker.get_positions()
        mine = self.positions_copy()
        drift = {}
        for symbol in sorted(set(broker) | set(mine)):
            a, b = mine.get(symbol, 0.0), broker.get(symbol, 0.0)
            if abs(a - b) > POSITION_TOLERANCE:
                drift[symbol] = (a, b)
        return drift


def describe_drift(drift: dict[str, tuple[float, float]]) -> str:
    parts = [f"{s}: engine={a:g} broker={b:g} (diff {b - a:+g})" for s, (a, b) in drift.items()]
    return "position drift vs broker: " + "; ".join(parts)


__all__ = ["ExecutionRouter", "Outcome", "RouteResult", "RouterConfig", "describe_drift"]

"""ExecutionRouter with a real ledger and kill switch and a scripted broker (each broker answer chosen)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from solat_engine.broker_client import (
    Account,
    BrokerError,
    BrokerOrder,
    BrokerOutcomeUnknown,
    BrokerRejected,
)
from solat_engine.execution.kill_switch import KillSwitch
from solat_engine.execution.ledger import ExecutionLedger, LedgerError
from solat_engine.execution.models import NIL_UUID, EntryType, Intent, Side
from solat_engine.execution.router import ExecutionRouter, Outcome, RouterConfig


class ScriptedBroker:
    """Records every call; `place_result` decides what place_order does (callable or exception)."""

    def __init__(self) -> None:
        self.placed: list[str] = []
        self.orders: dict[str, BrokerOrder] = {}
        self.account_calls = 0
        self.down = False
        self.place_hook: Callable[[str], None] | None = None
        self.place_error: BrokerError | None = None
        self.used = 0.0

    def get_account(self) -> Account:
        self.account_calls += 1
        if self.down:
            raise BrokerError("connection refused")
        return Account(balance=1e6, used=self.used, available=1e6 - self.used, as_of=datetime.now(UTC))

    def place_order(self, coid: str, symbol: str, side: Side, quantity: float) -> BrokerOrder:
        self.placed.append(coid)
        if self.place_hook:
            self.place_hook(coid)
        order = self.orders.get(coid) or BrokerOrder(
            broker_order_id=f"B-{len(self.orders) + 1}", client_order_id=coid, status="filled",
            symbol=symbol, side=side, quantity=quantity, price=100.0)
        self.orders[coid] = order
        self.used += quantity * 100.0
        if self.place_error is not None:
            raise self.place_error
        return order

    def get_order(self, coid: str) -> BrokerOrder | None:
        if self.down:
            raise BrokerError("connection refused")
        return self.orders.get(coid)

    def get_positions(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for o in self.orders.values():
            out[o.symbol] = out.get(o.symbol, 0.0) + (o.quantity if o.side == Side.BUY else -o.quantity)
        return out


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts(tmp_path: Path) -> tuple[ExecutionLedger, KillSwitch, ScriptedBroker, Clock]:
    ledger = ExecutionLedger(tmp_path / "ledger")
    yield ledger, KillSwitch(tmp_path / "kill_switch.json"), ScriptedBroker(), Clock()
    ledger.close()


def make_router(parts, ready: bool = True) -> ExecutionRouter:  # type: ignore[no-untyped-def]
    ledger, ks, broker, clock = parts
    router = ExecutionRouter(ledger, ks, broker, RouterConfig(max_order_qty=10, balance_max_age=300), clock)
    if ready:
        router.refresh_balance()
        router.unblock()
    return router


def intent(qty: float = 1.0, iid: uuid.UUID | None = None) -> Intent:
    return Intent(intent_id=iid or uuid.uuid4(), symbol="EURUSD", side=Side.BUY, quantity=qty)


def types_of(ledger: ExecutionLedger, iid: uuid.UUID) -> list[str]:
    return [e.entry_type.value for e in ledger.entries() if e.intent_id == iid]


def test_fill_records_intent_submitted_fill_and_intent_durable_before_broker(parts) -> None:
    ledger, _, broker, _ = parts
    router = make_router(parts)
    seen_in_ledger: list[list[str]] = []
    it = intent()
    broker.place_hook = lambda coid: seen_in_ledger.append(types_of(ledger, it.intent_id))
    result = router.route_intent(it)
    assert result.outcome == Outcome.FILLED
    assert broker.placed == ["SOLAT-" + it.intent_id.hex]
    assert seen_in_ledger == [["intent"]]  # durable intent record existed when the broker was called
    assert types_of(ledger, it.intent_id) == ["intent", "submitted", "fill"]
    assert router.positions_copy() == {"EURUSD": 1.0}


def test_balance_never_fetched_rejects_without_ledger_record(parts) -> None:
    ledger, _, broker, _ = parts
    router = make_router(parts, ready=False)
    router.unblock()
    result = router.route_intent(intent())
    assert result.outcome == Outcome.REJECTED and result.stage == "risk"
    assert "never fetched" in (result.reason or "")
    assert broker.placed == [] and list(ledger.entries()) == []


def test_stale_balance_is_refreshed_or_rejects(parts) -> None:
    _, _, broker, clock = parts
    router = make_router(parts)
    calls = broker.account_calls
    clock.now += 301
    assert router.route_intent(intent()).outcome == Outcome.FILLED
    assert broker.account_calls >= calls + 1
    clock.now += 301
    broker.down = True
    result = router.route_intent(intent())
    assert result.outcome == Outcome.REJECTED and "stale" in (result.reason or "")
    assert len(broker.placed) == 1


def test_fresh_balance_is_not_refetched(parts) -> None:
    _, _, broker, clock = parts
    router = make_router(parts)
    broker.down = True  # any refetch would fail the order
    clock.now += 299
    assert router.route_intent(intent()).outcome == Outcome.FILLED


def test_kill_switch_and_size_limit_and_reconcile_gate_reject(parts) -> None:
    ledger, ks, broker, _ = parts
    router = make_router(parts)
    big = router.route_intent(intent(qty=11))
    assert big.outcome == Outcome.REJECTED and "limit" in (big.reason or "")
    router.block("startup reconcile pending")
    assert "reconcile" in (router.route_intent(intent()).reason or "")
    router.unblock()
    ks.activate("operator stop")
    result = router.route_intent(intent())
    assert result.outcome == Outcome.REJECTED and "operator stop" in (result.reason or "")
    assert broker.placed == [] and list(ledger.entries()) == []


def test_broker_rejection_is_terminal(parts) -> None:
    ledger, _, broker, _ = parts
    router = make_router(parts)
    broker.place_error = BrokerRejected(409, "insufficient available balance")
    it = intent()
    result = router.route_intent(it)
    assert result.outcome == Outcome.REJECTED and result.stage == "broker"
    assert types_of(ledger, it.intent_id) == ["intent", "submitted", "reject"]
    again = router.route_intent(it)
    assert again.outcome == Outcome.REJECTED and len(broker.placed) == 1


def test_timeout_records_unknown_and_retry_resolves_by_query_without_resend(parts) -> None:
    ledger, _, broker, _ = parts
    router = make_router(parts)
    broker.place_error = BrokerOutcomeUnknown("read timeout")
    it = intent(qty=2)
    assert router.route_intent(it).outcome == Outcome.UNKNOWN
    assert types_of(ledger, it.intent_id) == ["intent", "unknown"]
    assert router.open_intents() == [it.intent_id]
    broker.place_error = None
    retry = router.route_intent(it)
    assert retry.outcome == Outcome.FILLED
    assert broker.placed == ["SOLAT-" + it.intent_id.hex]  # resolved by GET, never re-sent
    assert types_of(ledger, it.intent_id) == ["intent", "unknown", "fill"]
    assert router.positions_copy() == {"EURUSD": 2.0}


def test_retry_of_unsent_intent_resends_same_client_order_id(parts) -> None:
    _, _, broker, _ = parts
    router = make_router(parts)
    broker.place_error = BrokerOutcomeUnknown("connection reset")
    it = intent()
    router.route_intent(it)
    broker.orders.clear()  # the broker never got it: GET answers 404
    broker.place_error = None
    assert router.route_intent(it).outcome == Outcome.FILLED
    assert broker.placed == ["SOLAT-" + it.intent_id.hex] * 2


def test_repeat_of_terminal_intent_returns_recorded_outcome(parts) -> None:
    _, _, broker, _ = parts
    router = make_router(parts)
    it = intent()
    first = router.route_intent(it)
    again = router.route_intent(it)
    assert again == first and len(broker.placed) == 1
    other = router.route_intent(intent(qty=3, iid=it.intent_id))
    assert other.outcome == Outcome.REJECTED and "different order" in (other.reason or "")


def test_same_intent_concurrently_reaches_broker_once(parts) -> None:
    _, _, broker, _ = parts
    router = make_router(parts)
    it = intent()
    results = []
    threads = [threading.Thread(target=lambda: results.append(router.route_intent(it))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 8 and {r.outcome for r in results} == {Outcome.FILLED}
    assert len(broker.placed) == 1


def test_ledger_write_failure_rejects_with_ledger_stage_and_sends_nothing(parts) -> None:
    ledger, _, broker, _ = parts
    router = make_router(parts)
    ledger.close()  # every append now raises LedgerError
    result = router.route_intent(intent())
    assert result.outcome == Outcome.REJECTED and result.stage == "ledger"
    assert broker.placed == []


def test_reconcile_records_reconciled_and_not_sent_exactly_once(parts, tmp_path: Path) -> None:
    ledger, _, broker, _ = parts
    router = make_router(parts)
    broker.place_error = BrokerOutcomeUnknown("timeout")
    reached, lost = intent(), intent(qty=4)
    router.route_intent(reached)
    router.route_intent(lost)
    del broker.orders["SOLAT-" + lost.intent_id.hex]
    broker.place_error = None
    assert router.reconcile_open_intents() == 2
    assert types_of(ledger, reached.intent_id)[-1] == "reconciled"
    assert types_of(ledger, lost.intent_id)[-1] == "not_sent"
    assert router.reconcile_open_intents() == 0
    # a new router over the same ledger (a restart) also finds nothing to do
    again = ExecutionRouter(ledger, parts[1], broker)
    assert again.open_intents() == [] and again.reconcile_open_intents() == 0
    assert again.positions_copy() == {"EURUSD": 1.0}
    assert router.position_drift() == {}


def test_position_drift_reports_difference(parts) -> None:
    _, _, broker, _ = parts
    router = make_router(parts)
    router.route_intent(intent())
    broker.orders["X"] = BrokerOrder(broker_order_id="B-x", client_order_id="X", status="filled",
                                     symbol="GBPUSD", side=Side.SELL, quantity=2, price=1.0)
    assert router.position_drift() == {"GBPUSD": (0.0, -2.0)}


def test_reconcile_with_broker_down_leaves_intents_open(parts) -> None:
    ledger, _, broker, _ = parts
    router = make_router(parts)
    broker.place_error = BrokerOutcomeUnknown("timeout")
    it = intent()
    router.route_intent(it)
    broker.down = True
    with pytest.raises(BrokerError):
        router.reconcile_open_intents()
    assert router.open_intents() == [it.intent_id]
    assert EntryType.UNKNOWN.value == types_of(ledger, it.intent_id)[-1]


def test_intent_locks_do_not_accumulate(parts) -> None:
    router = make_router(parts)
    for _ in range(5):
        router.route_intent(intent())
    assert router._locks.locks == {}


def test_restarted_router_answers_repeats_from_the_ledgers_replay(parts, tmp_path: Path) -> None:
    """The router keeps no fold of its own: after a restart, outcomes come from the ledger's replay."""
    ledger, ks, broker, clock = parts
    router = make_router(parts)
    filled, rejected, unknown = intent(qty=2), intent(qty=3), intent(qty=4)
    first_fill = router.route_intent(filled)
    broker.place_error = BrokerRejected(409, "insufficient available balance")
    first_reject = router.route_intent(rejected)
    broker.place_error = BrokerOutcomeUnknown("read timeout")
    router.route_intent(unknown)
    broker.place_error = None
    ledger.close()
    reopened = ExecutionLedger(tmp_path / "ledger")  # replays the file
    try:
        again = make_router((reopened, ks, broker, clock))
        assert again.open_intents() == [unknown.intent_id]
        assert again.positions_copy() == {"EURUSD": 2.0}
        placed = list(broker.placed)
        assert again.route_intent(filled) == first_fill and first_fill.broker_order_id == "B-1"
        assert again.route_intent(rejected) == first_reject
        assert first_reject.reason == "insufficient available balance"
        assert broker.placed == placed  # answered from the ledger, nothing sent
    finally:
        reopened.close()


def test_outcome_lost_to_a_full_disk_stays_open_until_recorded(small_disk) -> None:
    """The broker filled but the disk was full: the intent stays open, and once the disk has room a
    repeat learns the fill by asking the broker (never re-sending) and records it."""
    ledger = ExecutionLedger(small_disk.root / "ledger")
    try:
        broker = ScriptedBroker()
        parts = (ledger, KillSwitch(small_disk.root / "kill_switch.json"), broker, Clock())
        router = make_router(parts)
        it = intent(qty=5)

        def disk_fills_up(_coid: str) -> None:  # the broker takes the order, then the disk is full
            small_disk.fill()
            with pytest.raises(LedgerError):  # use up the slack in the ledger's last page too
                for _ in range(64):
                    ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {})

        broker.place_hook = disk_fills_up
        lost = router.route_intent(it)
        assert lost.outcome == Outcome.UNKNOWN and lost.stage == "ledger"
        assert "No space left" in (lost.reason or "")
        assert types_of(ledger, it.intent_id) == ["intent"]
        assert router.open_intents() == [it.intent_id] and router.positions_copy() == {}
        broker.place_hook = None
        small_disk.free()
        resolved = router.route_intent(it)
        assert resolved.outcome == Outcome.FILLED and resolved.broker_order_id == "B-1"
        assert broker.placed == ["SOLAT-" + it.intent_id.hex]
        assert types_of(ledger, it.intent_id) == ["intent", "fill"]
        assert router.open_intents() == [] and router.positions_copy() == {"EURUSD": 5.0}
    finally:
        ledger.close()


def test_outcome_lost_to_the_ledger_is_recorded_without_a_client_retry(small_disk) -> None:
    """The engine's own resolver (Engine._outcome_loop calls resolve_undurable once the ledger writes again)
    records the fill the broker holds: positions must not wait for a client retry or a restart."""
    ledger = ExecutionLedger(small_disk.root / "ledger")
    try:
        broker = ScriptedBroker()
        router = make_router((ledger, KillSwitch(small_disk.root / "kill_switch.json"), broker, Clock()))
        it = intent(qty=3)

        def disk_fills_up(_coid: str) -> None:
            small_disk.fill()
            with pytest.raises(LedgerError):
                for _ in range(64):
                    ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {})

        broker.place_hook = disk_fills_up
        assert router.route_intent(it).outcome == Outcome.UNKNOWN
        assert router.undurable_count() == 1
        with pytest.raises(LedgerError):  # still full: stays pending
            router.resolve_undurable()
        broker.place_hook = None
        small_disk.free()
        assert router.resolve_undurable() == 1
        assert router.undurable_count() == 0
        assert types_of(ledger, it.intent_id) == ["intent", "reconciled"]
        assert router.positions_copy() == {"EURUSD": 3.0}
        assert broker.placed == ["SOLAT-" + it.intent_id.hex]  # asked, never re-sent
    finally:
        ledger.close()

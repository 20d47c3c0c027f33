"""no_duplicates, no_phantoms and positions_match each fail on their violation and pass on a clean run."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError
from support.fixtures import broker_server  # noqa: F401  (fixture)
from support.processes import BrokerProcess

from chaos_lab.checkers import no_duplicates, no_phantoms, positions_match
from chaos_lab.models import BrokerAttempt, BrokerOrder, Observation
from chaos_lab.synthetic import ObservationBuilder


def _clean() -> ObservationBuilder:
    b = ObservationBuilder()
    b.signal(symbol="EURUSD", side="BUY", qty=3)
    b.signal(symbol="GBPUSD", side="SELL", qty=2)
    b.signal(outcome="fail", ledger=False, broker=False)
    return b


def test_clean_run_passes_all_three() -> None:
    obs = _clean().build()
    for checker in (no_duplicates, no_phantoms, positions_match):
        verdict = checker.check(obs)
        assert verdict.ok, verdict


def test_deduplicated_retry_is_not_a_duplicate() -> None:
    b = _clean()
    first = b.signal()
    b.broker_order("SOLAT-" + first.hex, "EURUSD", "BUY", 1.0, duplicate=True)
    verdict = no_duplicates.check(b.build())
    assert verdict.ok, verdict
    assert verdict.evidence["duplicate_attempts"] == 1


@pytest.mark.parametrize("first", ["failed", "rejected"])
def test_unanswered_attempt_then_resend_is_one_order(first: str) -> None:
    """A `fail_next` 503 (or a 409) records an attempt but no order; the re-send under the same key fills."""
    b = _clean()
    b.signal()
    filled = b.attempts.pop()
    lost = BrokerAttempt(
        seq=filled.seq,
        client_order_id=filled.client_order_id,
        received_at=filled.received_at,
        duplicate=False,
        outcome=first,
        body=filled.body,
    )
    b.attempts += [lost, filled.model_copy(update={"seq": filled.seq + 1})]
    verdict = no_duplicates.check(b.build())
    assert verdict.ok, verdict
    assert verdict.evidence["attempts_by_outcome"] == {"filled": 3, first: 1}


def test_real_broker_fail_next_then_resend_is_one_order(broker_server: BrokerProcess) -> None:  # noqa: F811
    """The same case from the real fake broker's record: its attempts carry `outcome` into the model."""
    broker_server.configure(fail_next=1)
    coid = "SOLAT-" + uuid.uuid4().hex
    order = {"client_order_id": coid, "symbol": "EURUSD", "side": "BUY", "quantity": 1.0}
    assert broker_server.post("/orders", json=order).status_code == 503
    assert broker_server.place(**order)["duplicate"] is False
    assert broker_server.place(**order)["duplicate"] is True
    attempts = [BrokerAttempt.model_validate(a) for a in broker_server.attempts()]
    assert [a.outcome for a in attempts] == ["failed", "filled", "duplicate"]
    obs = Observation(
        scenario="fail-next-resend",
        broker_attempts=attempts,
        broker_orders=[BrokerOrder.model_validate(o) for o in broker_server.orders()],
    )
    verdict = no_duplicates.check(obs)
    assert verdict.ok, verdict
    assert verdict.evidence["orders"] == 1


def test_attempt_outcome_must_agree_with_the_duplicate_flag() -> None:
    record = {"seq": 1, "client_order_id": "SOLAT-1", "received_at": "2026-11-24T00:00:00Z"}
    with pytest.raises(ValidationError, match="contradicts"):
        BrokerAttempt.model_validate({**record, "duplicate": False, "outcome": "duplicate"})
    with pytest.raises(ValidationError, match="outcome"):
        BrokerAttempt.model_validate({**record, "duplicate": False, "outcome": "lost"})


def test_two_orders_for_one_intent_fail() -> None:
    b = _clean()
    intent = b.signal()
    coid = "SOLAT-" + intent.hex
    b.broker_order(coid, "EURUSD", "BUY", 1.0)  # the broker accepted the same key twice
    verdict = no_duplicates.check(b.build())
    assert not verdict.ok
    assert verdict.evidence["orders_per_coid_over_1"] == {coid: 2}
    assert verdict.evidence["filled_attempts_over_1"] == {coid: 2}
    assert verdict.evidence["intents_with_several_orders"] == {str(intent): 2}


def test_engine_replacing_the_intent_id_fails() -> None:
    b = _clean()
    sent = b.signal()
    ops = b.history.ops
    last = ops[-1].model_copy(update={"value": {"intent_id": str(uuid.uuid4())}})
    obs = b.build().model_copy(update={"history": [*ops[:-1], last]})
    verdict = no_duplicates.check(obs)
    assert not verdict.ok
    assert verdict.evidence["intent_id_replaced"][0].startswith(str(sent))


def test_order_without_intent_record_is_a_phantom() -> None:
    b = _clean()
    b.broker_order("SOLAT-" + uuid.uuid4().hex, "EURUSD", "BUY", 5.0)
    verdict = no_phantoms.check(b.build())
    assert not verdict.ok
    assert verdict.evidence["phantom_count"] == {"file": 1, "api": 1}


def test_position_drift_fails_naming_the_symbol() -> None:
    b = _clean()
    obs = b.build()
    obs.engine_state = {"positions": {"EURUSD": 3.0, "GBPUSD": -1.0}}
    verdict = positions_match.check(obs)
    assert not verdict.ok
    assert verdict.evidence["drift"]["served"] == {"GBPUSD": {"engine": -1.0, "broker": -2.0}}


def test_ledger_file_positions_are_checked_too() -> None:
    b = _clean()
    b.broker_order("SOLAT-" + uuid.uuid4().hex, "USDJPY", "BUY", 4.0)  # broker moved, ledger did not
    obs = b.build()
    obs.engine_state = {"positions": obs.broker_positions}  # the engine claims to agree...
    verdict = positions_match.check(obs)
    assert not verdict.ok  # ...but its own ledger file says otherwise
    assert "USDJPY" in verdict.evidence["drift"]["ledger_file"]


def test_missing_engine_state_fails() -> None:
    obs = _clean().build()
    obs.engine_state = None
    assert not positions_match.check(obs).ok

"""kill_switch_honoured: signals first sent while the operator's kill switch is on must be refused and must
not reach the broker; a reset that definitely failed (507, 403) does not end the window."""

from __future__ import annotations

from chaos_lab.checkers import kill_switch_honoured
from chaos_lab.synthetic import ObservationBuilder


def _activate(b: ObservationBuilder) -> None:
    b.history.record("setup", "invoke", "kill_switch_activate", value={"reason": "halt"})
    b.history.record("setup", "ok", "kill_switch_activate", status_code=200)


def _reset(b: ObservationBuilder, outcome: str = "ok", status: int = 200) -> None:
    b.history.record("setup", "invoke", "kill_switch_reset")
    b.history.record("setup", outcome, "kill_switch_reset", status_code=status)  # type: ignore[arg-type]


def test_refused_while_on_passes() -> None:
    b = ObservationBuilder()
    b.signal()
    _activate(b)
    b.signal(outcome="fail", ledger=False, broker=False)
    _reset(b)
    b.signal()
    verdict = kill_switch_honoured.check(b.build())
    assert verdict.ok, verdict
    assert verdict.evidence["intents_sent_while_on"] == 1


def test_accepted_while_on_fails_naming_the_intent() -> None:
    b = ObservationBuilder()
    _activate(b)
    leaked = b.signal()  # answered 200 and filled while the switch was on: a forgotten kill switch
    verdict = kill_switch_honoured.check(b.build())
    assert not verdict.ok
    assert verdict.evidence["accepted_while_on"] == [str(leaked)]
    assert str(leaked) in verdict.evidence["reached_broker_while_on"][0]


def test_a_failed_reset_does_not_end_the_window() -> None:
    b = ObservationBuilder()
    _activate(b)
    _reset(b, outcome="fail", status=507)  # "reset could not be saved (still active)"
    leaked = b.signal()
    verdict = kill_switch_honoured.check(b.build())
    assert not verdict.ok and verdict.evidence["accepted_while_on"] == [str(leaked)]


def test_no_activation_is_not_a_pass_unless_optional() -> None:
    b = ObservationBuilder()
    b.signal()
    assert not kill_switch_honoured.check(b.build()).ok
    assert kill_switch_honoured.check(b.build(), require_activation=False).ok


def test_a_request_sent_while_off_that_lands_after_a_new_activation_is_not_a_leak() -> None:
    """Seen in explore (seed 7, index 1): first attempts fail during a pause inside window 1, the retries are
    sent after the reset and are accepted just as the operator activates again. The switch did its job."""
    b = ObservationBuilder()
    _activate(b)
    first = b.signal(outcome="info", ledger=False, broker=False)  # engine paused: connection aborted
    _reset(b)
    invoke = b.history.record("workload", "invoke", "signal", intent_id=first, value={})
    _activate(b)  # answered while the retry is in flight
    b.broker_order("SOLAT-" + first.hex, "EURUSD", "BUY", 1.0)
    b.history.record("workload", "ok", "signal", intent_id=first, status_code=200, latency=0.01)
    assert invoke.time < b.history.ops[-1].time
    verdict = kill_switch_honoured.check(b.build())
    assert verdict.ok, verdict


def test_a_retry_told_the_outcome_of_an_earlier_order_is_not_a_leak() -> None:
    b = ObservationBuilder()
    filled = b.signal()  # filled before the switch went on
    _activate(b)
    b.signal(intent_id=filled, broker=False, ledger=False)  # the retry gets the original outcome (200)
    verdict = kill_switch_honoured.check(b.build())
    assert verdict.ok, verdict


def test_an_order_placed_just_after_the_halt_by_an_earlier_request_may_be_reported_filled() -> None:
    """Explore seed 1 schedule 6 (--faults disk_fill,kill): a signal passed the switch just before the halt,
    the broker's injected 503s delayed its order until just after it; the engine was killed, and the
    client's retry inside the window was told "filled". The order is the first request's, which the
    switch let through; the retry only learnt its outcome."""
    b = ObservationBuilder()
    first = b.signal(outcome="info", ledger=False, broker=False)  # before the halt; its answer is lost
    _activate(b)
    b.broker_order("SOLAT-" + first.hex, "EURUSD", "BUY", 1.0)  # reached the broker just after the halt
    b.signal(intent_id=first, broker=False, ledger=False)  # the retry, inside the window: "filled"
    verdict = kill_switch_honoured.check(b.build())
    assert verdict.ok, verdict


def test_an_order_first_sent_inside_the_window_and_reported_filled_fails() -> None:
    b = ObservationBuilder()
    _activate(b)
    placed = b.signal(outcome="info", ledger=False, broker=False)  # first sent while the switch is on
    b.broker_order("SOLAT-" + placed.hex, "EURUSD", "BUY", 1.0)
    b.signal(intent_id=placed, broker=False, ledger=False)
    verdict = kill_switch_honoured.check(b.build())
    assert not verdict.ok and verdict.evidence["accepted_while_on"] == [str(placed)]

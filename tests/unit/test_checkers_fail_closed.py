"""fail_closed: an order reaching the broker without its intent record while the disk is full, or a 507
that reached the broker anyway, is a failure; a full disk that only produced clean 507s passes."""

from __future__ import annotations

from chaos_lab.checkers import fail_closed
from chaos_lab.synthetic import ObservationBuilder


def _full_disk(b: ObservationBuilder) -> None:
    b.signal()
    b.inject("disk-full", "disk_fill", {"written_bytes": 1 << 20, "free_bytes_after": 0})


def test_clean_507s_pass() -> None:
    b = ObservationBuilder()
    _full_disk(b)
    b.signal(outcome="fail", status=507, ledger=False, broker=False)
    b.signal(outcome="fail", status=507, ledger=False, broker=False)
    b.heal("disk-full")
    b.signal()
    verdict = fail_closed.check(b.build(), min_ops_in_window=1)
    assert verdict.ok, verdict
    assert verdict.evidence["rejected_507"] == 2
    assert verdict.evidence["outcomes_in_window"]["fail"] == 2


def test_order_without_intent_while_full_fails() -> None:
    b = ObservationBuilder()
    _full_disk(b)
    sent = b.signal(outcome="ok", ledger=False)  # sent to the broker, intent never made durable
    b.heal("disk-full")
    verdict = fail_closed.check(b.build())
    assert not verdict.ok
    assert verdict.evidence["orders_without_intent"] == [f"SOLAT-{sent.hex} (attempt 2)"]


def test_rejected_507_that_reached_the_broker_fails() -> None:
    b = ObservationBuilder()
    _full_disk(b)
    leaked = b.signal(outcome="fail", status=507, ledger=True, broker=False)
    b.broker_order("SOLAT-" + leaked.hex, "EURUSD", "BUY", 1.0)
    b.heal("disk-full")
    verdict = fail_closed.check(b.build())
    assert not verdict.ok
    assert verdict.evidence["rejected_but_sent"] == [str(leaked)]


def test_a_507_for_an_order_already_sent_fails_even_if_resubmitted_later() -> None:
    b = ObservationBuilder()
    _full_disk(b)
    sent = b.signal(outcome="info", ledger=True)  # in doubt: recorded and sent, the answer lost
    b.signal(outcome="fail", status=507, ledger=False, broker=False, intent_id=sent)  # the retry: "not sent"
    b.heal("disk-full")
    b.signal(outcome="ok", ledger=False, broker=False, intent_id=sent)  # the engine now knows it was sent
    verdict = fail_closed.check(b.build())
    assert not verdict.ok
    assert verdict.evidence["rejected_but_sent"] == [str(sent)]


def test_a_rejected_intent_resubmitted_after_the_disk_freed_may_be_sent() -> None:
    """Explore seed 1 schedule 55 on the correct engine: three in-doubt signals got 507 on their retry while
    the disk was full; the client's late retry after recovery resent them under their ids and they filled,
    once each. The 507s were true when given; the orders came from the resubmission."""
    b = ObservationBuilder()
    _full_disk(b)
    rejected = b.signal(outcome="fail", status=507, ledger=False, broker=False)
    b.heal("disk-full")
    b.signal(outcome="ok", intent_id=rejected)
    verdict = fail_closed.check(b.build())
    assert verdict.ok, verdict
    assert verdict.evidence["rejected_507"] == 1


def test_no_disk_fault_is_nothing_to_judge() -> None:
    b = ObservationBuilder()
    b.signal()
    verdict = fail_closed.check(b.build())
    assert verdict.unknown and "no disk-full window" in verdict.summary


def test_fault_that_missed_the_workload_fails_when_required() -> None:
    b = ObservationBuilder()
    _full_disk(b)
    b.heal("disk-full")
    verdict = fail_closed.check(b.build(), min_ops_in_window=1)
    assert not verdict.ok
    assert "missed the workload" in verdict.summary

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


def test_no_disk_fault_fails() -> None:
    b = ObservationBuilder()
    b.signal()
    assert not fail_closed.check(b.build()).ok


def test_fault_that_missed_the_workload_fails_when_required() -> None:
    b = ObservationBuilder()
    _full_disk(b)
    b.heal("disk-full")
    verdict = fail_closed.check(b.build(), min_ops_in_window=1)
    assert not verdict.ok
    assert "missed the workload" in verdict.summary

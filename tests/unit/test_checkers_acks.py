"""no_lost_acks fails on an acknowledged intent the ledger forgot, and passes on a clean run."""

from __future__ import annotations

from chaos_lab.checkers import no_lost_acks
from chaos_lab.synthetic import ObservationBuilder


def test_clean_run_passes() -> None:
    b = ObservationBuilder()
    for _ in range(5):
        b.signal()
    b.signal(outcome="fail", ledger=False, broker=False)
    verdict = no_lost_acks.check(b.build())
    assert verdict.ok, verdict
    assert verdict.evidence["acked"] == 5


def test_ack_missing_from_ledger_fails_naming_the_intent() -> None:
    b = ObservationBuilder()
    b.signal()
    lost = b.signal(ledger=False)  # engine said 200 but never wrote it
    verdict = no_lost_acks.check(b.build())
    assert not verdict.ok
    assert verdict.evidence["missing"]["file"] == [str(lost)]
    assert verdict.evidence["missing"]["api"] == [str(lost)]


def test_intent_without_outcome_record_counts_as_lost() -> None:
    b = ObservationBuilder()
    acked = b.signal()
    b.records = [r for r in b.records if r["entry_type"] != "fill"]  # acked, but only the intent survived
    for i, r in enumerate(b.records, 1):
        r["seq"] = i
    verdict = no_lost_acks.check(b.build())
    assert not verdict.ok
    assert str(acked) in verdict.evidence["missing"]["file"]


def test_no_ledger_at_all_is_a_failure() -> None:
    b = ObservationBuilder()
    b.signal()
    obs = b.build().model_copy(update={"ledger_file": None, "ledger_api": None})
    assert not no_lost_acks.check(obs).ok

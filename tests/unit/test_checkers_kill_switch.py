"""kill_switch_persisted and refuses_to_trade fail when the kill switch is lost or trading goes on."""

from __future__ import annotations

from chaos_lab.checkers import kill_switch_persisted, refuses_to_trade
from chaos_lab.models import KillSwitchState
from chaos_lab.synthetic import ObservationBuilder

HALT = KillSwitchState(active=True, reason="chaos: halt", activated_at="2026-11-24T16:00:00+00:00")


def _halted(after: KillSwitchState) -> ObservationBuilder:
    b = ObservationBuilder()
    b.signal()
    b.kill_switch_before = HALT
    b.kill_switch_after = after
    return b


def test_persisted_kill_switch_passes() -> None:
    assert kill_switch_persisted.check(_halted(HALT).build()).ok


def test_lost_kill_switch_fails() -> None:
    verdict = kill_switch_persisted.check(_halted(KillSwitchState(active=False)).build())
    assert not verdict.ok
    assert verdict.evidence["after"]["active"] is False
    assert "lost" in verdict.summary


def test_changed_reason_fails_unless_allowed() -> None:
    other = KillSwitchState(active=True, reason="kill switch file corrupt at /data/kill_switch.json")
    assert not kill_switch_persisted.check(_halted(other).build()).ok
    assert kill_switch_persisted.check(_halted(other).build(), same_reason=False).ok


def test_never_activated_is_not_a_pass() -> None:
    b = _halted(HALT)
    b.kill_switch_before = None
    assert not kill_switch_persisted.check(b.build()).ok


def test_refusing_engine_passes() -> None:
    b = _halted(HALT)
    b.signal(outcome="fail", ledger=False, broker=False, process="verify")
    verdict = refuses_to_trade.check(b.build())
    assert verdict.ok, verdict


def test_engine_that_still_trades_fails() -> None:
    b = _halted(HALT)
    traded = b.signal(process="verify")
    verdict = refuses_to_trade.check(b.build())
    assert not verdict.ok
    assert verdict.evidence["not_rejected"] == [str(traded)]
    assert verdict.evidence["reached_broker"] == [str(traded)]


def test_reason_must_name_the_corrupted_offset() -> None:
    b = _halted(KillSwitchState(active=True, reason="ledger corrupt at byte offset 1234 (bad checksum)"))
    b.inject("flipped-byte", "flip_ledger_byte", {"record_offset": 1234, "records": 9})
    b.heal("flipped-byte")
    b.signal(outcome="fail", ledger=False, broker=False, process="verify")
    assert refuses_to_trade.check(b.build(), reason_names_offset=True).ok
    b.kill_switch_after = KillSwitchState(active=True, reason="ledger corrupt")
    verdict = refuses_to_trade.check(b.build(), reason_names_offset=True)
    assert not verdict.ok
    assert "does not name offset 1234" in verdict.summary


def test_inactive_kill_switch_or_no_verification_fails() -> None:
    b = _halted(KillSwitchState(active=False))
    b.signal(outcome="fail", ledger=False, broker=False, process="verify")
    assert not refuses_to_trade.check(b.build()).ok
    assert not refuses_to_trade.check(_halted(HALT).build()).ok


def test_unanswered_verification_is_judged_by_what_it_did() -> None:
    """A signal the client gave up on (info) is not an acceptance, unless it reached the broker; but a
    refusal must still be seen."""
    b = _halted(HALT)
    b.signal(outcome="info", ledger=False, broker=False, process="verify")
    b.signal(outcome="fail", ledger=False, broker=False, process="verify")
    assert refuses_to_trade.check(b.build()).ok
    only_unanswered = _halted(HALT)
    only_unanswered.signal(outcome="info", ledger=False, broker=False, process="verify")
    verdict = refuses_to_trade.check(only_unanswered.build())
    assert not verdict.ok and "answered with a refusal" in verdict.summary
    sent = _halted(HALT)
    intent = sent.signal(outcome="info", ledger=False, broker=True, process="verify")
    sent.signal(outcome="fail", ledger=False, broker=False, process="verify")
    verdict = refuses_to_trade.check(sent.build())
    assert not verdict.ok and verdict.evidence["reached_broker"] == [str(intent)]

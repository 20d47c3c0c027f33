"""availability: an unanswered /health during a non-stopping fault fails, probes during a kill are exempt,
and a recovery slower than the bound fails. Recovery is when the engine was first seen ready after the last
heal, by a probe or by the recover phase's wait after the lab's own restart, whichever came first."""

from __future__ import annotations

import time

from chaos_lab.checkers import availability
from chaos_lab.synthetic import ObservationBuilder


def _fault(kind: str, answered: bool, after_heal: str = "ready") -> ObservationBuilder:
    b = ObservationBuilder()
    b.probe()
    b.inject("f", kind)
    b.probe(answered=answered, status="degraded")
    b.probe(answered=answered, status="degraded")
    b.heal("f")
    b.probe(status=after_heal)
    b.recovered()
    return b


def test_answered_during_disk_full_passes() -> None:
    verdict = availability.check(_fault("disk_fill", True).build())
    assert verdict.ok, verdict
    assert verdict.evidence["probes_during_faults"] == 2


def test_unanswered_during_network_fault_fails() -> None:
    verdict = availability.check(_fault("toxic", False).build())
    assert not verdict.ok
    assert len(verdict.evidence["unanswered"]) == 2


def test_unanswered_during_sigkill_is_exempt() -> None:
    verdict = availability.check(_fault("kill", False).build())
    assert verdict.ok, verdict
    assert verdict.evidence["probes_during_faults"] == 0


def test_slow_recovery_fails() -> None:
    b = _fault("disk_fill", True, after_heal="degraded")
    time.sleep(0.05)
    b.recovered()
    verdict = availability.check(b.build(), recover_within_s=0.01)
    assert not verdict.ok
    assert "bound 0.01s" in verdict.summary


def test_never_recovered_fails() -> None:
    b = _fault("disk_fill", True, after_heal="degraded")
    b.recovered_at = None
    assert not availability.check(b.build()).ok


def test_no_fault_fails() -> None:
    b = ObservationBuilder()
    b.probe()
    assert not availability.check(b.build()).ok


def test_explorer_mode_judges_recovery_not_probes() -> None:
    """The explorer's judge_probes=False: unanswered probes are evidence, a slow recovery still fails."""
    verdict = availability.check(_fault("cpu_starve", False).build(), judge_probes=False)
    assert verdict.ok, verdict
    assert len(verdict.evidence["unanswered"]) == 2
    b = _fault("cpu_starve", False, after_heal="degraded")
    time.sleep(0.05)
    b.recovered()
    assert not availability.check(b.build(), recover_within_s=0.01, judge_probes=False).ok


def test_recovery_is_the_first_ready_probe_not_the_labs_own_restart() -> None:
    """The recover phase waits for the workload to end and restarts the engine itself: on a loaded host that
    took 14-18 s of the lab's time, which must not count against the engine's recovery."""
    b = _fault("disk_fill", True)  # a probe found it ready right after the heal
    time.sleep(0.05)
    b.recovered()  # the lab's restart and readiness wait came later
    verdict = availability.check(b.build(), recover_within_s=0.03)
    assert verdict.ok, verdict
    assert verdict.evidence["recovery_s"] < 0.03

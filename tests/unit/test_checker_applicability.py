"""Checkers declare the fault effects they apply to; every scenario and explored schedule with such a fault
runs them, and with nothing of the kind in the run they answer `unknown`, never a failure or a pass."""

from __future__ import annotations

from chaos_lab.checkers import APPLIES_TO, CHECKERS, health_truth, with_applicable
from chaos_lab.checkers import fsync_fatal as fsync_fatal_checker
from chaos_lab.effects import Effect
from chaos_lab.explore.render import checkers_for
from chaos_lab.faults.registry import FAULTS, effects_of
from chaos_lab.models import CheckerSpec, Observation
from chaos_lab.scenarios.catalog import SCENARIOS
from tests.unit.test_checkers_real_faults import Hist


def _names(specs: tuple[CheckerSpec, ...]) -> list[str]:
    return [s.name for s in specs]


def test_every_declared_effect_is_one_some_fault_kind_has() -> None:
    """A checker waiting for an effect no kind produces would never run."""
    produced = {e for cls in FAULTS.values() for e in cls.effects}
    for name, effects in APPLIES_TO.items():
        assert effects and effects <= produced, name


def test_a_checker_with_nothing_to_judge_answers_unknown() -> None:
    empty = Observation(scenario="t")
    for name in APPLIES_TO:
        verdict = CHECKERS[name](empty)
        assert verdict.ok and verdict.unknown, (name, verdict.summary)


def test_applicable_checkers_are_added_once_after_the_named_ones() -> None:
    own = CheckerSpec(name="fsync_fatal", params={"min_ops_in_window": 3})
    named = (CheckerSpec(name="no_lost_acks"), own)
    specs = with_applicable(named, {Effect.LEDGER_UNWRITABLE})
    assert specs[:2] == named  # the scenario's own params win
    assert _names(specs).count("fsync_fatal") == 1
    assert {"health_truth", "snapshots_resume"} <= set(_names(specs))
    assert with_applicable(named, {Effect.ENGINE_DOWN}) == named


def test_explored_schedules_run_what_applies_to_their_faults() -> None:
    """Before, an explored fsync, write or clock schedule never ran fsync_fatal, health_truth or clock_safety
    (an if-chain over kind names in the renderer knew disk_fill, truncate_parquet and broker_ambiguity)."""
    assert {"fsync_fatal", "health_truth"} <= set(_names(checkers_for({"write_eio"}, terminal=False)))
    assert "clock_safety" in _names(checkers_for({"clock_fast", "kill"}, terminal=False))
    assert "fail_closed" in _names(checkers_for({"disk_fill"}, terminal=False))
    auto = next(s for s in checkers_for({"fsync_eio"}, terminal=False) if s.name == "fsync_fatal")
    assert auto.params == {"min_ops_in_window": 0, "once_must_surface": False}


def test_catalogue_scenarios_are_judged_by_what_applies_to_them() -> None:
    by_name = {s.name: s for s in SCENARIOS}
    full = by_name["disk-full-during-burst"]
    assert "health_truth" not in _names(full.checkers)
    assert "health_truth" in _names(full.judged_by)
    for scenario in SCENARIOS:
        effects = effects_of(scenario.fault_kinds)
        for name, wanted in APPLIES_TO.items():
            if wanted & effects:
                assert name in _names(scenario.judged_by), (scenario.name, name)


def test_fsync_fatal_added_by_the_lab_still_flags_an_ack_while_unwritable() -> None:
    """The auto params judge only the invariant: a fault that met no signal says nothing, one that saw a
    signal acknowledged while every fsync failed fails (the engine that swallows fsync errors)."""
    params = {"min_ops_in_window": 0, "once_must_surface": False}
    quiet = Hist()
    quiet.fault("fsync", "fsync_eio", 1.0, 3.0)
    assert fsync_fatal_checker.check(quiet.obs(), **params).unknown
    swallowed = Hist()
    swallowed.fault("fsync", "fsync_eio", 1.0, 3.0)
    swallowed.signal(1.5, 1.6, "ok", 200, outcome="filled")
    verdict = fsync_fatal_checker.check(swallowed.obs(), **params)
    assert not verdict.ok and "answered 200" in verdict.summary


def _stuck(other_fault: bool) -> Observation:
    h = Hist()
    h.fault("fsync", "fsync_eio", 1.0, 3.0)
    h.signal(1.2, 1.3, "fail", 507, stage="ledger")
    if other_fault:  # a broken link right after: outcomes stay unrecorded, a ledger reason too
        h.fault("link", "proxy_down", 3.5, 12.0)
    h.health(1.5, "degraded", ["ledger: EIO"])
    for t in (4.0, 6.0, 9.0, 12.5):
        h.health(t, "degraded", ["ledger: 1 broker outcome(s) not recorded yet"])
    h.op(20.0, "setup", "ok", "end")
    return h.obs()


def test_health_truth_wants_the_ledger_reason_gone_after_the_heal_unless_another_fault_holds() -> None:
    stuck = health_truth.check(_stuck(other_fault=False))
    assert not stuck.ok and "still reported the ledger" in stuck.summary
    assert health_truth.check(_stuck(other_fault=True)).ok


def test_health_truth_leaves_out_a_fault_that_refused_nothing() -> None:
    h = Hist()
    h.fault("fsync", "fsync_eio", 1.0, 3.0)
    h.health(1.5, "ready", [], {"ledger": True, "disk": True})
    verdict = health_truth.check(h.obs())
    assert verdict.ok and "0 of 1" in verdict.summary

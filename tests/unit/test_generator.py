"""Same scenario + seed => the identical schedule; another seed => a different one."""

from __future__ import annotations

import pytest

from chaos_lab.cli.session import longest_first
from chaos_lab.experiment.plan import plan
from chaos_lab.scenarios.catalog import BY_NAME, SCENARIOS
from chaos_lab.scenarios.model import Burst, FloatRange, Inject, IntRange, Plan, Sleep, WaitOps


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_same_seed_same_plan(scenario) -> None:
    assert plan(scenario, 42) == plan(scenario, 42)
    assert plan(scenario, 42).fault_schedule() == plan(scenario, 42).fault_schedule()


@pytest.mark.parametrize(
    "name",
    [
        "sigkill-mid-burst",
        "disk-full-during-burst",
        "corrupt-ledger-middle",
        "torn-ledger-tail",
        "broker-timeout",
    ],
)
def test_another_seed_differs(name: str) -> None:
    scenario = BY_NAME[name]
    schedules = {str(plan(scenario, seed).fault_schedule()) for seed in (1, 2, 3)}
    assert len(schedules) > 1


def test_ranges_are_resolved_inside_their_bounds() -> None:
    for seed in range(20):
        steps = plan(BY_NAME["sigkill-mid-burst"], seed).steps
        wait = next(s for s in steps if isinstance(s, WaitOps))
        sleep = next(s for s in steps if isinstance(s, Sleep))
        burst = next(s for s in steps if isinstance(s, Burst))
        assert isinstance(wait.count, int) and 3 <= wait.count <= 15
        assert isinstance(sleep.seconds, float) and 0.1 <= sleep.seconds <= 0.5
        assert len(burst.signals) == burst.count == 30
        assert all(1 <= s.quantity <= 5 and s.side in ("BUY", "SELL") for s in burst.signals)


def test_file_fault_positions_come_from_the_seed() -> None:
    def fraction(seed: int) -> float:
        inject = next(
            s
            for s in plan(BY_NAME["torn-ledger-tail"], seed).steps
            if isinstance(s, Inject) and s.kind == "tear_ledger_tail"
        )
        assert not inject.random_params
        return inject.params["fraction"]

    assert fraction(5) == fraction(5)
    assert 0.05 <= fraction(5) <= 0.95
    assert len({fraction(s) for s in range(5)}) > 1


def test_empty_ranges_are_rejected() -> None:
    with pytest.raises(ValueError):
        IntRange(lo=3, hi=1)
    with pytest.raises(ValueError):
        FloatRange(lo=2.0, hi=1.0)


def test_held_time_counts_sleeps_and_paced_bursts_with_background_beside_them() -> None:
    """A background burst runs beside the steps after it; a foreground one and the sleeps add up."""
    steps = (
        Burst(count=10, interval_s=0.5, background=True, concurrency=2),  # 2.5 s beside the rest
        Sleep(seconds=1.0),
        Burst(count=4, interval_s=0.25),  # 1.0 s
        Sleep(seconds=0.5),
    )
    held = Plan(scenario="x", seed=1, steps=steps).held_s()
    assert held == pytest.approx(2.5)
    longer = Plan(scenario="x", seed=1, steps=(*steps, Sleep(seconds=2.0))).held_s()
    assert longer == pytest.approx(4.5)
    assert Plan(scenario="x", seed=1, steps=(Burst(count=58),)).held_s() == pytest.approx(1.0)


def test_a_pool_starts_the_longest_runs_first_and_keeps_ties_in_catalogue_order() -> None:
    cases = [(s, seed) for s in SCENARIOS for seed in s.seeds]
    ordered = longest_first(cases)
    held = [plan(*case).held_s() for case in ordered]
    assert sorted(ordered, key=lambda c: (c[0].name, c[1])) == sorted(cases, key=lambda c: (c[0].name, c[1]))
    assert held == sorted(held, reverse=True)
    assert ordered[0][0].name == "endurance" and held[0] > 10 * held[-1]
    ties = [case for case in ordered if plan(*case).held_s() == held[-1]]
    assert ties == [case for case in cases if case in ties]

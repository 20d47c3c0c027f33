"""The catalogue: every required scenario exists in its tier, is valid data, bounded, and names real
checkers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chaos_lab.checkers import CHECKERS
from chaos_lab.faults.registry import FAULT_KINDS
from chaos_lab.scenarios.catalog import BY_NAME, SCENARIOS, select
from chaos_lab.scenarios.model import Burst, Inject, Scenario, Sleep

REQUIRED = {
    1: {
        "disk-full-during-burst",
        "disk-full-on-snapshot",
        "torn-ledger-tail",
        "corrupt-ledger-middle",
        "truncated-parquet",
    },
    2: {"ack-lost-between-submit-and-record", "retry-after-timeout", "kill-switch-file-vs-memory"},
    3: {"broker-latency-2s", "broker-timeout", "broker-reset-peer", "broker-down-then-up", "slicer"},
    4: {"sigkill-mid-burst", "kill-switch-survives-sigkill", "disk-full-then-crash-then-free"},
}


def test_required_scenarios_in_their_tiers() -> None:
    for tier, names in REQUIRED.items():
        assert names <= {s.name for s in SCENARIOS if s.tier == tier}
    assert len(BY_NAME) == len(SCENARIOS)  # names are unique
    assert len(BY_NAME["sigkill-mid-burst"].seeds) >= 3


# Scenarios whose fault must outlast something: the client's 5 s timeout, the (3 s) balance age limit + slack.
LONG_HOLDS = {"pause-past-client-timeout": 8.5, "clock-step-back": 5.0}  # pause: + 2 s slow broker after
# Scenarios that exist to be long: slow damage shows only over hundreds of signals (and an idle stretch).
LONG_RUNS = {"endurance": 690}
LONG_HOLDS["endurance"] = 4.5
LONG_HOLDS["balance-stale-across-outage"] = 5.0  # past the 3 s balance limit, with the 1.5 s slack


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario_is_well_formed(scenario: Scenario) -> None:
    assert all(c.name in CHECKERS for c in scenario.checkers)
    assert {i.kind for i in scenario.method if isinstance(i, Inject)} <= FAULT_KINDS
    injected = {s.name for s in scenario.method if isinstance(s, Inject)}
    healed = {s.name for s in scenario.method if s.action == "heal"}
    assert injected == healed, "every fault is healed inside the method"
    signals = sum(
        (s.count if isinstance(s.count, int) else s.count.hi) for s in scenario.method if isinstance(s, Burst)
    )
    assert signals <= LONG_RUNS.get(scenario.name, 40)
    sleeps = sum(
        (s.seconds if isinstance(s.seconds, float) else s.seconds.hi)
        for s in scenario.method
        if isinstance(s, Sleep)
    )
    assert sleeps <= LONG_HOLDS.get(scenario.name, 3.0)
    # round-trips as data, like a Chaos Toolkit experiment file
    assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario


def test_scenario_data_is_validated() -> None:
    with pytest.raises(ValidationError):
        Scenario.model_validate({"name": "x", "tier": 9, "description": "", "method": [], "checkers": []})
    with pytest.raises(ValidationError):
        Inject(name="x", kind="meteor_strike")
    with pytest.raises(ValidationError):
        Burst(count=100_000)


def test_select() -> None:
    assert {s.tier for s in select(tier=3)} == {3}
    assert [s.name for s in select(name="slicer")] == ["slicer"]
    for bad in ({"name": "nope"}, {"tier": 7}, {"tier": 1, "name": "slicer"}):
        with pytest.raises(KeyError):
            select(**bad)

"""A pass must prove its reach: the same fault timed to miss its target comes out VACUOUS (naming the goal it
missed), timed right it passes. Real faults on the Docker lab; the catalogue's own runs (test_scenarios.py)
must meet every goal."""

from __future__ import annotations

from typing import Any

import pytest

from chaos_lab.runner import Runner
from chaos_lab.scenarios.checks import AVAILABLE, CORE, _c
from chaos_lab.scenarios.model import AwaitBurst, Burst, Heal, Inject, Scenario, Sleep, WaitOps

pytestmark = [pytest.mark.lab, pytest.mark.tier1]


def _disk_full(name: str, after_burst: bool) -> Scenario:
    """A full disk held 1 s, either while a background burst sends (on target) or after it ended."""
    burst = Burst(count=20, interval_s=0.1, background=True)
    fault = (Inject(name="disk-full", kind="disk_fill", params={"leave_bytes": 0}), Sleep(seconds=1.0),
             Heal(name="disk-full"))
    method = (burst, AwaitBurst(), *fault) if after_burst else (burst, WaitOps(count=3), *fault, AwaitBurst())
    # No snapshot is due during the run (an hour apart): after the burst, nothing at all writes to /data.
    return Scenario(
        name=name,
        tier=1,
        description="disk full, timed on or off the burst",
        method=method,
        checkers=(*CORE, _c("fail_closed"), AVAILABLE),
        engine_config={"snapshot_interval": 3600.0},
    )


@pytest.mark.parametrize("after_burst", [True, False], ids=["fill-after-the-burst", "fill-mid-burst"])
def test_a_mistimed_fault_is_vacuous_and_a_timed_one_passes(lab: Any, after_burst: bool) -> None:
    result = Runner(lab).run(_disk_full("disk-full-timing", after_burst), 1).result
    assert result.error is None, result.error
    assert all(v.ok for v in result.verdicts), [v.summary for v in result.verdicts if not v.ok]
    if after_burst:
        assert result.status == "vacuous" and not result.ok
        [missed] = result.missed_goals
        assert missed.goal.during == "disk-full" and missed.goal.where == {"errno": 28}
        assert "ledger_write_failed" in missed.goal.events and missed.seen == 0
    else:
        assert result.status == "passed" and result.ok, [g.model_dump() for g in result.missed_goals]

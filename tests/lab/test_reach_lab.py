"""A pass must prove its reach: the same fault timed to miss its target comes out VACUOUS (naming the goal it
missed), timed right it passes. Real faults on the Docker lab, one default goal each: a disk filled to the
last byte (a write fails with ENOSPC), fsync EIO (a write or sync fails), write EIO (a signal answered 507),
a latency toxic (an order crosses the sick link), the link down (a broker request fails), SIGKILL and pause
(signals in flight or a burst sending), a clock step (a signal answered under it), a broker ambiguity knob
(it fires on an order). The catalogue's own runs (test_scenarios.py) must meet every goal."""

from __future__ import annotations

from typing import Any

import pytest

from chaos_lab.runner import Runner
from chaos_lab.scenarios.checks import AVAILABLE, CORE, _c
from chaos_lab.scenarios.model import AwaitBurst, Burst, Heal, Inject, Scenario, Sleep, WaitEngine, WaitOps

pytestmark = [pytest.mark.lab, pytest.mark.tier1]

FAULTS: dict[str, tuple[Inject, tuple[Any, ...], str]] = {  # fault, steps after its inject, goal event
    "disk_fill": (Inject(name="f", kind="disk_fill", params={"leave_bytes": 0}), (Sleep(seconds=1.0),),
                  "ledger_write_failed"),
    "kill": (Inject(name="f", kind="kill", params={"signal": "SIGKILL"}), (), "workload_hit"),
    "toxic": (Inject(name="f", kind="toxic", params={"type": "latency", "stream": "downstream",
                                                     "attributes": {"latency": 300}}),
              (Sleep(seconds=1.0),), "broker_order_received"),
    "fsync_eio": (Inject(name="f", kind="fsync_eio"), (Sleep(seconds=1.0),), "ledger_write_failed"),
    "write_eio": (Inject(name="f", kind="write_eio"), (Sleep(seconds=1.0),), "signal_answered"),
    "proxy_down": (Inject(name="f", kind="proxy_down"), (Sleep(seconds=1.0),), "broker_request_failed"),
    "pause": (Inject(name="f", kind="pause"), (Sleep(seconds=1.0),), "workload_hit"),
    "clock_step": (Inject(name="f", kind="clock_step", params={"offset_s": 301.0}), (Sleep(seconds=1.0),),
                   "signal_answered"),
    "broker_ambiguity": (Inject(name="f", kind="broker_ambiguity",
                                params={"mode": "partial_fill", "probability": 1.0, "seed": 7}),
                         (Sleep(seconds=1.0),), "broker_knob_hit"),
}


def _timed(kind: str, after_burst: bool) -> Scenario:
    """The fault while a background burst sends (on target) or once it has ended (it meets nothing)."""
    inject, hold, _ = FAULTS[kind]
    burst = Burst(count=20, interval_s=0.1, background=True)
    fault = (inject, *hold, Heal(name="f"), *((WaitEngine(),) if kind == "kill" else ()))
    method = (burst, AwaitBurst(), *fault) if after_burst else (burst, WaitOps(count=3), *fault, AwaitBurst())
    # No snapshot is due during the run (an hour apart): after the burst, nothing at all writes to /data.
    return Scenario(
        name=f"{kind.replace('_', '-')}-timing",
        tier=1,
        description="a fault timed on or off the burst",
        method=method,
        checkers=(*CORE, *((_c("fail_closed"),) if kind == "disk_fill" else ()), AVAILABLE),
        engine_config={"snapshot_interval": 3600.0},
    )


@pytest.mark.parametrize("after_burst", [True, False], ids=["after-the-burst", "mid-burst"])
@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_a_mistimed_fault_is_vacuous_and_a_timed_one_passes(lab: Any, kind: str, after_burst: bool) -> None:
    result = Runner(lab).run(_timed(kind, after_burst), 1).result
    assert result.error is None, result.error
    assert all(v.ok for v in result.verdicts), [v.summary for v in result.verdicts if not v.ok]
    if after_burst:
        assert result.status == "vacuous" and not result.ok, result.reach
        [missed] = result.missed_goals
        assert missed.goal.during == "f" and FAULTS[kind][2] in missed.goal.events and missed.seen == 0
    else:
        assert result.status == "passed" and result.ok, [g.model_dump() for g in result.missed_goals]

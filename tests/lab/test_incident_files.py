"""Incident files against the real lab: the example disk-full-during-snapshot incident replays and passes, and
state triggers fire on the lab's state ("when the ledger reaches B bytes", "when the broker has received its
K-th order"), not on a clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos_lab.experiment.runner import Runner
from chaos_lab.scenarios.file_format import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "incidents" / "disk-full-during-snapshot.yaml"


def _failed(run: Any) -> list[str]:
    return [f"{v.name}: {v.summary} {v.evidence}" for v in run.result.verdicts if not v.ok]


def _trigger(run: Any) -> Any:
    return next(op for op in run.history if op.f == "trigger" and op.type != "invoke")


@pytest.mark.lab
@pytest.mark.tier1
def test_disk_full_during_snapshot_incident_replays(lab: Any) -> None:
    scenario = load_scenario(EXAMPLE)
    run = Runner(lab).run(scenario, scenario.seeds[0])
    assert run.result.error is None, run.result.error
    assert not _failed(run), _failed(run)
    trigger = _trigger(run)
    assert trigger.type == "ok" and trigger.value["seen"] >= 4096
    (window,) = [w for w in run.result.faults if w.kind == "disk_fill"]
    assert window.start >= trigger.time and window.result["free_bytes_after"] == 0
    assert window.end is not None and window.end - window.start >= 6.0  # across a 5 s snapshot interval
    assert any(op.status_code == 507 for op in run.history if op.f == "signal")
    assert [g.goal.why for g in run.result.goals] == [g.why for g in scenario.goals or ()]
    assert run.result.status == "passed", [g.model_dump() for g in run.result.missed_goals]


KILL_AT_KTH_ORDER = """
name: kill-at-kth-order
tier: 4
description: Kill the engine when the broker has received its 6th order.
method:
- {action: burst, count: 20, interval_s: 0.1, background: true, concurrency: 2}
- {action: await_broker_orders, count: 6, timeout_s: 30}
- {action: inject, name: crash, kind: kill, params: {signal: SIGKILL}}
- {action: heal, name: crash}
- {action: wait_engine}
- {action: await_burst}
checkers:
- {name: no_lost_acks}
- {name: no_duplicates}
- {name: no_phantoms}
- {name: positions_match}
- {name: ledger_integrity}
"""


@pytest.mark.lab
@pytest.mark.tier4
def test_kill_when_the_broker_has_its_kth_order(lab: Any) -> None:
    scenario = parse_scenario(yaml.safe_load(KILL_AT_KTH_ORDER), "kill-at-kth-order.yaml")
    run = Runner(lab).run(scenario, 1)
    assert run.result.error is None, run.result.error
    assert not _failed(run), _failed(run)
    trigger = _trigger(run)
    inject = next(op for op in run.history if op.f == "inject" and op.type == "invoke")
    assert trigger.type == "ok" and trigger.value["seen"] >= 6 and inject.time >= trigger.time


# restart-from-captured-crash is a catalogue scenario too: tests/lab/test_scenarios.py runs it with the rest.
CATALOGUED = ROOT / "examples" / "incidents" / "restart-from-captured-crash.yaml"
OTHER_EXAMPLES = sorted(
    p for p in (ROOT / "examples" / "incidents").glob("*.yaml") if p not in (EXAMPLE, CATALOGUED)
)


@pytest.mark.lab
@pytest.mark.tier4
@pytest.mark.parametrize("path", OTHER_EXAMPLES, ids=lambda p: p.stem)
def test_every_example_incident_passes_on_the_engine(lab: Any, path: Path) -> None:
    scenario = load_scenario(path)
    run = Runner(lab).run(scenario, scenario.seeds[0])
    assert run.result.error is None, run.result.error
    assert not _failed(run), _failed(run)
    assert run.result.faults

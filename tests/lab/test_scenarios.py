"""Every chaos scenario against the real Compose lab, as a test: `pytest -m tier4` is the pre-release recovery
run. A failed verdict prints the checker's evidence (ids, offsets, counts) and the scenario's timeline is kept
in reports/lab-tests/ for a post-mortem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaos_lab.experiment.runner import Runner
from chaos_lab.models import RunSummary
from chaos_lab.report.write import append_history, write_logs, write_reports
from chaos_lab.scenarios.catalog import SCENARIOS
from chaos_lab.scenarios.model import Scenario

REPORTS = Path(__file__).resolve().parents[2] / "reports" / "lab-tests"

CASES = [
    pytest.param(
        s, seed, marks=[pytest.mark.lab, getattr(pytest.mark, f"tier{s.tier}")], id=f"{s.name}-seed{seed}"
    )
    for s in SCENARIOS
    for seed in s.seeds
]


def _keep(run: Any) -> Path:
    """Save this scenario's history, logs and report so a failure can be read afterwards."""
    r = run.result
    run_dir = REPORTS / f"{r.scenario}-seed{r.seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "history.jsonl").unlink(missing_ok=True)
    append_history(run_dir, run.history)
    write_logs(run_dir, r, run.logs)
    write_reports(
        run_dir,
        RunSummary(
            run_id=run_dir.name,
            started=r.started,
            duration_s=r.duration_s,
            wait_s=r.wait_s,
            ok=r.ok,
            results=[r],
        ),
    )
    return run_dir


@pytest.mark.parametrize("scenario,seed", CASES)
def test_scenario(lab: Any, scenario: Scenario, seed: int) -> None:
    run = Runner(lab).run(scenario, seed)
    run_dir = _keep(run)
    result = run.result
    assert result.error is None, f"{scenario.name} could not run: {result.error} (see {run_dir})"
    failed = [v for v in result.verdicts if not v.ok]
    assert not failed, f"{scenario.name} seed={seed} (report: {run_dir / 'report.html'}):\n" + "\n".join(
        f"  {v.name}: {v.summary}\n    evidence: {v.evidence}" for v in failed
    )
    assert {v.name for v in result.verdicts} == {c.name for c in scenario.judged_by}
    # every injected fault really happened (endurance injects none: its goals prove what it reached)
    assert result.faults or not scenario.fault_kinds, "the scenario injected no fault"
    missed = [f"{g.goal.describe()}: saw {g.seen}, elsewhere {g.elsewhere}" for g in result.missed_goals]
    assert result.goals and not missed, f"{scenario.name} seed={seed} is vacuous: {missed} ({run_dir})"
    assert result.status == "passed"

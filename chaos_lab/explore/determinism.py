"""`--check-determinism`: run schedule (seed, index) twice and compare what must replay exactly (the plan:
signals, fault parameters, triggers, holds; digested) and what should (which checkers passed). The engine's
timing is not replayed: docs/exploration.md says what that means and how state triggers narrow the gap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chaos_lab.explore.outcome import (
    DeterminismReport,
    executed_digest,
    keep_run,
    plan_digest,
    verdict_digest,
)
from chaos_lab.explore.render import render
from chaos_lab.explore.schedule import generate
from chaos_lab.scenarios.file_format import dump_scenario, write_scenario

if TYPE_CHECKING:
    from chaos_lab.explore.explorer import Explorer


def check_determinism(explorer: Explorer, index: int) -> DeterminismReport:
    """Run schedule (seed, index) twice: the plan must be identical, and so should the verdicts."""
    schedule = generate(explorer.s.seed, index, explorer.s.kinds)
    again = generate(explorer.s.seed, index, explorer.s.kinds)
    scenario = render(schedule)
    path = write_scenario(scenario, explorer.out / "schedules" / f"{schedule.name}.yaml")
    runs = explorer.batch([(schedule.name, schedule)] * 2)
    plans = [plan_digest(scenario, schedule.seed)] + [executed_digest(r.history) for r in runs]
    regenerated = plan_digest(render(again), again.seed)
    verdicts = [{v.name: v.ok for v in r.result.verdicts} for r in runs]
    differences = [
        f"{name}: {verdicts[0].get(name)} then {verdicts[1].get(name)}"
        for name in sorted(set(verdicts[0]) | set(verdicts[1]))
        if verdicts[0].get(name) != verdicts[1].get(name)
    ]
    same_file = dump_scenario(render(again)) == dump_scenario(scenario)
    report = DeterminismReport(
        schedule=schedule.name,
        file=str(path),
        plan_digests=plans,
        regenerated_digest=regenerated,
        verdict_digests=[verdict_digest(r.result) for r in runs],
        verdicts=verdicts,
        same_plan=same_file and plans[0] == regenerated and plans[1] == plans[2],
        same_verdicts=not differences,
        differences=differences,
    )
    explorer.report.determinism = report
    for i, run in enumerate(runs):
        keep_run(explorer.out / "determinism", f"{schedule.name}-run{i + 1}", run)
    return report

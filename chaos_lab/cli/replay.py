"""`chaos-lab replay RUN_DIR`: run a report's failed scenario runs again, exactly, and say whether they failed
the same way.

Every run saves the scenario each of its runs ran as a file in its run directory (`scenarios/<name>.yaml`,
what `chaos-lab show` prints) and records it with the seed in summary.json. Replay reads that file, not the
catalogue or the incident file the run came from: either may have changed since, and on call the question is
"does *this* run fail again", not "does today's version of it".
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.console import Console

from chaos_lab.cli.exits import EXIT_OK
from chaos_lab.cli.session import run_cases, seed_arg, usage_error
from chaos_lab.models import RunSummary, ScenarioResult, ScenarioStatus
from chaos_lab.report.write import read_summary, write_summary
from chaos_lab.scenarios.file_format import ScenarioFileError, load_scenario
from chaos_lab.scenarios.model import Scenario

REPLAY_JSON = "replay.json"


class Outcome(BaseModel):
    """What a scenario run came to, as far as "the same way" goes."""

    status: ScenarioStatus
    failed_checkers: list[str] = Field(default_factory=list)
    missed_goals: list[str] = Field(default_factory=list)
    lab_error: str | None = None  # "phase (cause)" of a runner error

    @classmethod
    def of(cls, r: ScenarioResult) -> Outcome:
        e = r.runner_error
        return cls(
            status=r.status,
            failed_checkers=sorted(v.name for v in r.verdicts if not v.ok),
            missed_goals=sorted(g.goal.describe() for g in r.missed_goals),
            lab_error=f"{e.phase} ({e.cause})" if e is not None else None,
        )

    def same_as(self, other: Outcome) -> bool:
        """Same status and, for it, the same failed checkers / missed goals / failing phase and cause."""
        if self.status != other.status:
            return False
        if self.status == "failed":
            return self.failed_checkers == other.failed_checkers
        if self.status == "vacuous":
            return self.missed_goals == other.missed_goals
        if self.status == "runner_error":
            return self.lab_error == other.lab_error
        return True

    def describe(self) -> str:
        if self.status == "failed":
            return f"failed (checkers: {', '.join(self.failed_checkers)})"
        if self.status == "vacuous":
            return f"vacuous (missed: {'; '.join(self.missed_goals)})"
        if self.status == "runner_error":
            return f"the lab could not run it ({self.lab_error})"
        return "passed"


class ReplayCheck(BaseModel):
    """One replayed scenario run against its original; `after` is None when the replay never ran it (the run
    was interrupted or the lab failed first)."""

    scenario: str
    seed: int
    before: Outcome
    after: Outcome | None = None

    @property
    def same(self) -> bool:
        return self.after is not None and self.before.same_as(self.after)

    def line(self) -> str:
        case = f"{self.scenario} seed={self.seed}"
        if self.after is None:
            return f"NOT RUN {case}: the replay did not get to it"
        if self.same:
            way = {
                "failed": "failed the same way",
                "vacuous": "vacuous the same way",
                "runner_error": "the lab could not run it the same way",
                "passed": "passed again",
            }[self.before.status]
            return f"SAME    {case}: {way}: {self.after.describe()}"
        return f"CHANGED {case}: was {self.before.describe()}, now {self.after.describe()}"


class ReplayRecord(BaseModel):
    """`replay.json` in the replay's own run directory."""

    replay_of: str
    checks: list[ReplayCheck]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="re-run a report's failed, vacuous and lab-error scenario runs from their saved files and seeds",
    )
    p.add_argument("run_dir", type=Path, help="a run directory (reports/<run-id>)")
    p.add_argument("--scenario", help="only this scenario's runs, whatever their status")
    p.add_argument("--seed", type=seed_arg, help="only the run with this seed")
    p.add_argument("--parallel", type=int, default=1, help="spread the runs over N lab instances")
    p.add_argument("--keep-up", action="store_true", help="leave the lab running afterwards")
    p.add_argument(
        "--reports", type=Path, help="where the replay's run directory goes (default: beside RUN_DIR)"
    )


def _picked(summary: RunSummary, args: argparse.Namespace) -> list[ScenarioResult] | str:
    """The results to replay, or a one-line reason why the selection is empty or wrong."""
    results = summary.results
    if args.scenario is not None:
        ran = sorted({r.scenario for r in results})
        results = [r for r in results if r.scenario == args.scenario]
        if not results:
            ran_text = ", ".join(ran) or "nothing"
            return f"{args.run_dir}: no run of scenario {args.scenario!r} (it ran: {ran_text})"
    if args.seed is not None:
        seeds = sorted({r.seed for r in results})
        results = [r for r in results if r.seed == args.seed]
        if not results:
            return f"{args.run_dir}: no run with seed {args.seed} (seeds: {', '.join(map(str, seeds))})"
    if args.scenario is None and args.seed is None:
        results = [r for r in results if r.status != "passed"]
    return results


def cmd_replay(args: argparse.Namespace, console: Console, lab_factory: Any = None) -> int:
    run_dir: Path = args.run_dir
    if not (run_dir / "summary.json").is_file():
        return usage_error(f"{run_dir} has no summary.json (not a chaos-lab run directory)")
    if not 1 <= args.parallel <= 8:
        return usage_error(f"--parallel must be 1..8, got {args.parallel}")
    try:
        old = read_summary(run_dir)
    except ValueError as exc:
        return usage_error(f"{run_dir}: {str(exc).splitlines()[0]}")
    picked = _picked(old, args)
    if isinstance(picked, str):
        return usage_error(picked)
    if not picked:
        console.print(f"nothing to replay: every scenario run in {run_dir} passed", soft_wrap=True)
        return EXIT_OK
    scenarios: dict[str, Scenario] = {}
    for r in picked:
        if r.scenario in scenarios:
            continue
        if r.scenario_file is None:
            return usage_error(f"{run_dir}: {r.scenario} has no saved scenario file (a run from before "
                                    "replay existed): use its run command instead")
        try:
            scenarios[r.scenario] = load_scenario(run_dir / r.scenario_file)
        except ScenarioFileError as exc:
            return usage_error(str(exc))
    cases = [(scenarios[r.scenario], r.seed) for r in picked]
    checks = [ReplayCheck(scenario=r.scenario, seed=r.seed, before=Outcome.of(r)) for r in picked]
    args.reports = args.reports if args.reports is not None else run_dir.parent
    console.print(
        f"chaos-lab replay {run_dir}: {len(cases)} scenario run(s) from their saved files and seeds",
        markup=False, highlight=False, soft_wrap=True,
    )

    def compare(new_dir: Path, summary: RunSummary) -> None:
        new = {(r.scenario, r.seed): r for r in summary.results}
        for check in checks:
            again = new.get((check.scenario, check.seed))
            check.after = Outcome.of(again) if again is not None else None
            console.print(check.line(), markup=False, highlight=False, soft_wrap=True)
        summary.replay_of = str(run_dir)
        write_summary(new_dir, summary)
        record = ReplayRecord(replay_of=str(run_dir), checks=checks)
        (new_dir / REPLAY_JSON).write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")

    sources = {r.scenario: run_dir / str(r.scenario_file) for r in picked}
    return run_cases(args, cases, console, lab_factory, sources=sources, finished=compare)

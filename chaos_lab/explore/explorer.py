"""The exploration loop: generate schedule (seed, index), write it as a scenario file, run it on a free lab
instance, classify the result; on the first violation shrink it, write the minimal schedule and its report,
replay it N times for flakiness. Bounded by a time budget and a schedule count; every schedule is reproducible
from (seed, index) and from its file alone.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos_lab.experiment.runner import Runner, ScenarioRun
from chaos_lab.explore.outcome import (
    ExploreReport,
    ScheduleOutcome,
    ShrinkReport,
    classify,
    keep_run,
    plan_digest,
    verdict_digest,
)
from chaos_lab.explore.render import render
from chaos_lab.explore.schedule import Schedule, generate
from chaos_lab.explore.shrink import Candidate, shrink
from chaos_lab.lab.pool import Work, Workers
from chaos_lab.lab.protocol import Lab
from chaos_lab.models import RunnerError
from chaos_lab.scenarios.file_format import write_scenario
from chaos_lab.workload.waiting import WaitMeter

Say = Callable[[str], None]
MAX_RESET_FAILURES = 3


@dataclass
class Settings:
    seed: int
    budget_s: float
    kinds: list[str]
    max_schedules: int = 1000
    start_index: int = 0
    shrink: bool = True
    shrink_attempts: int = 30
    shrink_tries: int = 2  # runs of a candidate before it counts as passing (timing-dependent bugs)
    shrink_seconds: float = 900.0
    replays: int = 3
    keep_going: bool = False  # explore the whole budget even after a violation (no shrinking then)


class Explorer:
    def __init__(
        self, labs: list[Any], settings: Settings, out: Path, report: ExploreReport, say: Say
    ) -> None:
        self.labs, self.s, self.out, self.report, self.say = labs, settings, out, report, say
        self.t0 = time.monotonic()
        self.workers: Workers[Any, Any] | None = None
        self._reset_failures: dict[str, int] = {}

    def stop(self) -> None:
        if self.workers is not None:
            self.workers.work.stop.set()

    def join(self) -> None:
        if self.workers is not None:
            self.workers.join()

    # -- running scenarios on the pool ---------------------------------------------------------------------
    def batch(self, items: list[tuple[str, Schedule]]) -> list[ScenarioRun]:
        """Run scenarios (one per free lab), results in the order given."""
        jobs = list(enumerate(items))

        def one(lab: Lab, meter: WaitMeter, job: tuple[int, tuple[str, Schedule]]) -> tuple[int, ScenarioRun]:
            i, (name, schedule) = job
            scenario = render(schedule).model_copy(update={"name": name})
            return i, Runner(lab, meter=meter).run(scenario, schedule.seed)

        labs = self.labs[: max(1, min(len(self.labs), len(jobs)))]
        self.workers = Workers(labs, Work.of(jobs), one)
        done = dict(self.workers.results())
        return [done[i] for i in range(len(jobs))]

    # -- explore -------------------------------------------------------------------------------------------
    def explore(self) -> ScheduleOutcome | None:
        """Until the budget or the count runs out (or the first violation): the first violating outcome."""
        s = self.s
        deadline = self.t0 + s.budget_s
        indices = itertools.count(s.start_index)
        limit = s.start_index + s.max_schedules
        stop_after_violation = not s.keep_going

        def next_index() -> tuple[int, Schedule, Path] | None:
            if time.monotonic() >= deadline:
                return None
            index = next(indices)
            if index >= limit:
                return None
            schedule = generate(s.seed, index, s.kinds)
            # Written before it runs: a schedule that hangs or kills the lab can still be replayed.
            path = write_scenario(
                render(schedule),
                self.out / "schedules" / f"{schedule.name}.yaml",
                header=f"chaos-lab explore --seed {s.seed}, index {index}\n"
                f"replay: chaos-lab run --file <this file>",
            )
            return index, schedule, path

        def one(lab: Lab, meter: WaitMeter, item: tuple[int, Schedule, Path]) -> ScheduleOutcome:
            index, schedule, path = item
            scenario = render(schedule)
            run = Runner(lab, meter=meter).run(scenario, schedule.seed)
            violated, error = classify(run.result)
            self._lab_health(lab, run.result.runner_error)
            if violated or error:
                keep_run(self.out / "runs", schedule.name, run)
            return ScheduleOutcome(
                index=index,
                name=schedule.name,
                file=str(path),
                ok=run.result.ok,
                violated=violated,
                error=error,
                duration_s=run.result.duration_s,
                faults=[f.kind for f in schedule.faults],
                signals=schedule.size()["signals"],  # as the shrinker counts: with those after recovery
                plan_digest=plan_digest(scenario, schedule.seed),
                verdict_digest=verdict_digest(run.result),
                lab=str(getattr(lab, "project", "")),
                finished_s=round(time.monotonic() - self.t0, 3),
                reach=run.result.reach,
                missed_goals=[g.goal.describe() for g in run.result.missed_goals],
            )

        self.workers = Workers(self.labs, Work(next_index), one)
        first: ScheduleOutcome | None = None
        for outcome in self.workers.results():
            self.report.schedules.append(outcome)
            self._say_outcome(outcome)
            if outcome.violated and first is None:
                first = outcome
                self.report.first_violation_s = outcome.finished_s
                if stop_after_violation:
                    self.workers.work.stop.set()  # the others finish their current schedule
        self.report.schedules.sort(key=lambda o: o.index)
        return first

    def _lab_health(self, lab: Lab, error: RunnerError | None) -> None:
        """A lab that cannot even be reset is gone (Docker trouble, someone removed it): stop instead of
        burning through the schedule indices."""
        key = str(getattr(lab, "project", id(lab)))
        lost = error is not None and error.not_started
        self._reset_failures[key] = self._reset_failures.get(key, 0) + 1 if lost else 0
        if self._reset_failures[key] >= MAX_RESET_FAILURES:
            line = error.line if error else ""
            raise RuntimeError(f"lab {key} unusable ({MAX_RESET_FAILURES} resets in a row failed): {line}")

    def _say_outcome(self, o: ScheduleOutcome) -> None:
        quiet = "vacuous" if o.missed_goals else "ok"
        mark = "VIOLATION" if o.violated else ("error" if o.error else quiet)
        detail = ", ".join(o.violated) if o.violated else (o.error or "; ".join(o.missed_goals))
        self.say(
            f"[{o.finished_s:7.1f}s] {o.name:<22} {mark:<9} {o.duration_s:5.1f}s faults={','.join(o.faults)} "
            f"signals={o.signals} {detail[:160]}"
        )

    # -- shrink --------------------------------------------------------------------------------------------
    def shrink(self, outcome: ScheduleOutcome) -> ShrinkReport:
        t0 = time.monotonic()
        original = generate(self.s.seed, outcome.index, self.s.kinds)
        target = set(outcome.violated)
        counter = itertools.count(1)

        def evaluate(batch: list[Candidate]) -> list[tuple[bool, list[str], str | None]]:
            names = [f"{original.name}-shrink{next(counter)}" for _ in batch]
            for name, (change, cand) in zip(names, batch, strict=True):
                scenario = render(cand).model_copy(update={"name": name})
                write_scenario(scenario, self.out / "shrink" / f"{name}.yaml", header=change)
            results: list[tuple[bool, list[str], str | None]] = [(False, [], None)] * len(batch)
            pending = list(range(len(batch)))
            for _ in range(max(1, self.s.shrink_tries)):  # a timing-dependent bug may need a second run
                runs = self.batch([(names[i], batch[i][1]) for i in pending])
                for i, run in zip(pending, runs, strict=True):
                    violated, error = classify(run.result)
                    results[i] = (bool(target & set(violated)), violated, error)
                pending = [i for i in pending if not results[i][0]]
                if not pending:
                    break
            for name, (change, _), (fails, violated, _) in zip(names, batch, results, strict=True):
                self.say(
                    f"  shrink {name}: {change}: {'still fails' if fails else 'passes'} {violated or ''}"
                )
            return results

        self.say(f"shrinking {original.name} ({original.size()}) while {sorted(target)} still fail")
        minimal, steps = shrink(
            original,
            evaluate,
            batch=len(self.labs),
            max_attempts=self.s.shrink_attempts,
            max_seconds=self.s.shrink_seconds,
        )
        name = f"{original.name}-minimal"
        scenario = render(minimal).model_copy(update={"name": name})
        path = write_scenario(
            scenario,
            self.out / f"{name}.yaml",
            header=f"shrunk from {original.name} ({original.size()} -> {minimal.size()}) in {len(steps)} "
            f"attempts; violates {sorted(target)}",
        )
        report = ShrinkReport(
            original=outcome.file,
            original_size=original.size(),
            minimal_size=minimal.size(),
            minimal_file=str(path),
            minimal_faults=[f.kind for f in minimal.faults],
            violated=sorted(target),
            attempts=len(steps),
            steps=steps,
            replay_command=f"chaos-lab run --file {path}",
        )
        self.report.shrink = report
        self.replay(minimal, name, report)
        report.duration_s = round(time.monotonic() - t0, 3)
        return report

    def replay(self, minimal: Schedule, name: str, report: ShrinkReport) -> None:
        """Replay the minimal schedule N times: how often does it reproduce (flakiness)?"""
        runs: list[ScenarioRun] = []
        for start in range(0, self.s.replays, len(self.labs)):
            n = min(len(self.labs), self.s.replays - start)
            runs += self.batch([(name, minimal)] * n)
        target = set(report.violated)
        report.replays = len(runs)
        report.reproduced = sum(1 for r in runs if target & set(classify(r.result)[0]))
        if runs:
            keep_run(self.out, name, next((r for r in runs if not r.result.ok), runs[0]))


def new_report(settings: Settings, parallel: int, unexplored: list[str]) -> ExploreReport:
    return ExploreReport(
        seed=settings.seed,
        budget_s=settings.budget_s,
        max_schedules=settings.max_schedules,
        parallel=parallel,
        kinds=settings.kinds,
        unexplored_kinds=unexplored,
        started=datetime.now(UTC),
    )

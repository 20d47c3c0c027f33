"""What the explorer records per schedule and per run (pydantic: `explore.json` is read back by tests and
people), and how a scenario result is classified: a violation (a checker failed on a run that got as far as
recovery) or a lab error (the schedule could not be carried out: not evidence against the engine)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, computed_field

from chaos_lab.experiment.plan import plan
from chaos_lab.experiment.runner import ScenarioRun
from chaos_lab.models import Op, RunSummary, ScenarioResult
from chaos_lab.report.write import append_history, write_logs, write_reports
from chaos_lab.scenarios.model import Scenario


def classify(result: ScenarioResult) -> tuple[list[str], str | None]:
    """(failed checkers that count as violations, lab error or None). An error where the engine did not come
    back or could not be verified is judged on the verdicts (`RunnerError.judges_engine`), not discarded."""
    failed = sorted(v.name for v in result.verdicts if not v.ok)
    if result.runner_error is None or result.runner_error.judges_engine:
        return failed, None
    return [], result.error


def plan_digest(scenario: Scenario, seed: int) -> str:
    """The exact plan (signals, fault parameters, triggers, holds): identical for identical (seed, index)."""
    return hashlib.sha256(plan(scenario, seed).model_dump_json().encode()).hexdigest()[:16]


def executed_digest(history: list[Op]) -> str:
    """What a run really did, as far as the plan decides it: the faults the nemesis injected (kind and
    parameters, in order) and the signals the clients sent (first attempts; retries depend on timing)."""
    faults = [
        (op.value.get("kind"), op.value.get("params"))
        for op in history
        if op.f == "inject" and op.type == "invoke"
    ]
    seen: set[Any] = set()
    signals = []
    for op in history:
        if op.f == "signal" and op.type == "invoke" and op.process == "workload" and op.intent_id not in seen:
            seen.add(op.intent_id)
            signals.append((op.value.get("symbol"), op.value.get("side"), op.value.get("quantity")))
    return hashlib.sha256(repr((faults, sorted(signals))).encode()).hexdigest()[:16]


def verdict_digest(result: ScenarioResult) -> str:
    """Which checkers passed: the part of a run's outcome that must replay (not its timings or counts)."""
    flags = sorted((v.name, v.ok) for v in result.verdicts)
    return hashlib.sha256(repr(flags).encode()).hexdigest()[:16]


class ScheduleOutcome(BaseModel):
    index: int
    name: str
    file: str
    ok: bool
    violated: list[str] = Field(default_factory=list)
    error: str | None = None
    duration_s: float
    faults: list[str] = Field(default_factory=list)
    signals: int = 0
    plan_digest: str
    verdict_digest: str
    lab: str = ""
    finished_s: float = 0.0  # since the exploration started
    reach: dict[str, int] = Field(default_factory=dict)  # reach events of the run, by name
    missed_goals: list[str] = Field(default_factory=list)  # goals its faults never met: a vacuous schedule


class ShrinkStep(BaseModel):
    attempt: int
    change: str
    still_fails: bool
    violated: list[str] = Field(default_factory=list)
    error: str | None = None


class ShrinkReport(BaseModel):
    original: str
    original_size: dict[str, int]
    minimal_size: dict[str, int]
    minimal_file: str
    minimal_faults: list[str]
    violated: list[str]
    attempts: int
    steps: list[ShrinkStep] = Field(default_factory=list)
    replays: int = 0
    reproduced: int = 0
    replay_command: str
    duration_s: float = 0.0


class DeterminismReport(BaseModel):
    schedule: str
    file: str
    plan_digests: list[str]  # the plan, then what each run executed (faults injected, signals sent)
    regenerated_digest: str
    verdict_digests: list[str]
    verdicts: list[dict[str, bool]]
    same_plan: bool
    same_verdicts: bool
    differences: list[str] = Field(default_factory=list)


class ExploreReport(BaseModel):
    seed: int
    budget_s: float
    max_schedules: int
    parallel: int
    kinds: list[str]
    unexplored_kinds: list[str]  # fault kinds of the lab the explorer has no parameter generator for
    started: datetime
    duration_s: float = 0.0
    schedules: list[ScheduleOutcome] = Field(default_factory=list)
    first_violation_s: float | None = None
    shrink: ShrinkReport | None = None
    determinism: DeterminismReport | None = None
    interrupted: bool = False
    lab_error: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def violations(self) -> list[ScheduleOutcome]:
        return [s for s in self.schedules if s.violated]

    @property
    def errors(self) -> list[ScheduleOutcome]:
        return [s for s in self.schedules if s.error]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def vacuous(self) -> int:
        """Schedules that violated nothing and ran through, but whose faults missed a goal: tested nothing."""
        return sum(1 for s in self.schedules if s.missed_goals and not s.violated and not s.error)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reach_map(self) -> dict[str, int]:
        """In how many schedules each reach event happened: what the exploration has touched so far."""
        seen: dict[str, int] = {}
        for s in self.schedules:
            for name in s.reach:
                seen[name] = seen.get(name, 0) + 1
        return dict(sorted(seen.items()))

    def per_minute(self) -> float:
        return round(60 * len(self.schedules) / self.duration_s, 2) if self.duration_s else 0.0


def keep_run(out: Path, name: str, run: ScenarioRun) -> Path:
    """History, logs and report.html of one run, for a post-mortem."""
    run_dir = out / name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "history.jsonl").unlink(missing_ok=True)
    append_history(run_dir, run.history)
    write_logs(run_dir, run.result, run.logs)
    r = run.result
    summary = RunSummary(
        run_id=name, started=r.started, duration_s=r.duration_s, wait_s=r.wait_s, ok=r.ok, results=[r]
    )
    write_reports(run_dir, summary)
    return run_dir

"""`make soak RUNS=N`: N consecutive full `chaos-lab run`s while stress-ng keeps every core busy.

Why: a lab that cries wolf under load is worse than none. The soak measures what a release manager needs to
trust it: runner errors (the lab could not run a step) and failed verdicts on the correct engine must both be
0, and scenario durations under load are compared with an idle baseline measured in the same soak (one run
without stress first), as ratios. Every run is a real `chaos-lab run` subprocess; the stress is bounded in
time and ended when its run ends. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from chaos_lab.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LAB, EXIT_OK, EXIT_VACUOUS
from chaos_lab.lab.stress import Stress
from chaos_lab.models import RunSummary

RUN_TIMEOUT_S = 3000  # bound on one `chaos-lab run`
LAB_DOWN_S = 120  # what an ended run may take to remove its lab
STRESS_TIMEOUT_S = RUN_TIMEOUT_S + 60  # bound on one stress-ng process, whatever happens to this script


class SoakRun(BaseModel):
    """One `chaos-lab run` of the soak."""

    index: int  # 0 = idle baseline
    loaded: bool
    exit_code: int
    run_dir: str | None
    scenario_runs: int
    runner_errors: list[str] = Field(default_factory=list)  # "scenario[seed]: phase (cause): message"
    failed_verdicts: list[str] = Field(default_factory=list)  # "scenario[seed]: checker: summary"
    vacuous: list[str] = Field(default_factory=list)  # "scenario[seed]: missed goal"
    lab_error: str | None = None
    durations: dict[str, float] = Field(default_factory=dict)  # "scenario[seed]" -> seconds
    phases: dict[str, float] = Field(default_factory=dict)  # "scenario[seed] phase" -> seconds


class Percentiles(BaseModel):
    n: int
    p50: float
    p95: float
    max: float


class SoakSummary(BaseModel):
    started: datetime
    runs: int  # loaded runs
    cpu_workers: int
    runner_errors: int
    failed_verdicts: int
    vacuous: int  # scenario runs whose faults missed a reach goal
    lab_errors: int
    idle: Percentiles | None
    loaded: Percentiles | None
    p50_ratio: float | None  # loaded / idle
    p95_ratio: float | None
    max_ratio: float | None
    slowest_steps: list[tuple[str, float]]  # loaded phases, slowest first
    details: list[SoakRun]


def percentiles(values: Sequence[float]) -> Percentiles | None:
    """Nearest-rank percentiles (no interpolation: every figure is a duration that happened)."""
    if not values:
        return None
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, math.ceil(p * len(ordered) / 100) - 1))]

    return Percentiles(n=len(ordered), p50=rank(50), p95=rank(95), max=ordered[-1])


def run_from_summary(index: int, loaded: bool, exit_code: int, run_dir: Path | None,
                     summary: RunSummary | None) -> SoakRun:
    run = SoakRun(index=index, loaded=loaded, exit_code=exit_code,
                  run_dir=str(run_dir) if run_dir else None, scenario_runs=0)
    if summary is None:
        run.lab_error = f"no summary.json (exit {exit_code})"
        return run
    run.scenario_runs = len(summary.results)
    run.lab_error = summary.lab_error
    for r in summary.results:
        case = f"{r.scenario}[{r.seed}]"
        run.durations[case] = r.duration_s
        for p in r.phases:
            run.phases[f"{case} {p.phase}"] = max(p.seconds, run.phases.get(f"{case} {p.phase}", 0.0))
        if r.runner_error is not None:
            e = r.runner_error
            run.runner_errors.append(f"{case}: {e.phase} ({e.cause}): {e.message[:300]}")
        elif r.status == "failed":
            run.failed_verdicts += [f"{case}: {v.name}: {v.summary}" for v in r.verdicts if not v.ok]
        elif r.status == "vacuous":
            run.vacuous += [f"{case}: missed {g.goal.describe()}" for g in r.missed_goals]
    return run


def aggregate(runs: list[SoakRun], cpu_workers: int, started: datetime, top: int = 8) -> SoakSummary:
    idle = [d for r in runs if not r.loaded for d in r.durations.values()]
    loaded_runs = [r for r in runs if r.loaded]
    loaded = [d for r in loaded_runs for d in r.durations.values()]
    p_idle, p_loaded = percentiles(idle), percentiles(loaded)

    def ratio(attr: str) -> float | None:
        if p_idle is None or p_loaded is None or getattr(p_idle, attr) == 0:
            return None
        return round(getattr(p_loaded, attr) / getattr(p_idle, attr), 2)

    steps: dict[str, float] = {}
    for r in loaded_runs:
        for step, seconds in r.phases.items():
            steps[step] = max(seconds, steps.get(step, 0.0))
    slowest = sorted(steps.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return SoakSummary(
        started=started,
        runs=len(loaded_runs),
        cpu_workers=cpu_workers,
        runner_errors=sum(len(r.runner_errors) for r in runs),
        failed_verdicts=sum(len(r.failed_verdicts) for r in runs),
        vacuous=sum(len({v.split(":")[0] for v in r.vacuous}) for r in runs),
        lab_errors=sum(r.lab_error is not None for r in runs),
        idle=p_idle,
        loaded=p_loaded,
        p50_ratio=ratio("p50"),
        p95_ratio=ratio("p95"),
        max_ratio=ratio("max"),
        slowest_steps=[(k, round(v, 3)) for k, v in slowest],
        details=runs,
    )


def print_summary(console: Console, s: SoakSummary) -> None:
    table = Table("", "runs", "scenario runs", "p50 s", "p95 s", "max s", title="chaos-lab soak")
    idle_n = sum(1 for r in s.details if not r.loaded)
    rows = (("idle", idle_n, s.idle), (f"loaded ({s.cpu_workers} CPU workers)", s.runs, s.loaded))
    for label, runs, p in rows:
        if p is None:
            table.add_row(label, str(runs), "0", "-", "-", "-")
        else:
            table.add_row(label, str(runs), str(p.n), f"{p.p50:.1f}", f"{p.p95:.1f}", f"{p.max:.1f}")
    table.add_row("loaded / idle", "", "", f"{s.p50_ratio}", f"{s.p95_ratio}", f"{s.max_ratio}")
    console.print(table)
    console.print(f"runner errors: {s.runner_errors}   failed verdicts: {s.failed_verdicts}   "
                  f"vacuous: {s.vacuous}   lab errors: {s.lab_errors}")
    for r in s.details:
        for line in r.runner_errors + r.failed_verdicts + r.vacuous + ([r.lab_error] if r.lab_error else []):
            console.print(f"  run {r.index}: {line}", highlight=False, markup=False)
    console.print("slowest steps under load: " + ", ".join(f"{k} {v:.1f}s" for k, v in s.slowest_steps))


def one_run(index: int, loaded: bool, reports: Path, extra: list[str], console: Console) -> SoakRun:
    out = reports / f"run-{index:03d}{'-loaded' if loaded else '-idle'}"
    out.mkdir(parents=True, exist_ok=False)
    cmd = [sys.executable, "-m", "chaos_lab.cli.main", "run", "--reports", str(out), *extra]
    console.print(f"soak run {index} ({'loaded' if loaded else 'idle baseline'}): {' '.join(cmd[2:])}")
    code, output = run_child(cmd, RUN_TIMEOUT_S)
    (out / "console.log").write_bytes(output)
    run_dirs = sorted(p for p in out.iterdir() if (p / "summary.json").is_file())
    summary = None
    if run_dirs:
        summary = RunSummary.model_validate_json((run_dirs[-1] / "summary.json").read_text())
    return run_from_summary(index, loaded, code, run_dirs[-1] if run_dirs else None, summary)


def run_child(cmd: list[str], timeout_s: float, down_s: float = LAB_DOWN_S) -> tuple[int, bytes]:
    """(exit code, output) of one `chaos-lab run`; -1 when it overran. An overrun or an interrupted soak ends
    the run as Ctrl-C would (SIGTERM: it takes its lab down) and waits `down_s` for that. subprocess.run would
    SIGKILL it at once (a timeout) or 0.25 s after Ctrl-C, and leave its containers and volumes behind."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
        return proc.returncode, output
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=down_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        if isinstance(exc, KeyboardInterrupt):
            raise
        return -1, output


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaos-lab-soak", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="loaded runs (default 20)")
    parser.add_argument("--cpu-workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--reports", type=Path, default=Path("reports"))
    parser.add_argument("--tier", help="only this tier (default: every tier)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    console = Console(highlight=False)
    # SIGTERM unwinds like Ctrl-C: the running stress-ng is ended and the chaos-lab run takes its lab down
    # (run_child); the runs finished so far are summarised.
    signal.signal(signal.SIGTERM, _interrupt)
    started = datetime.now(UTC)
    reports: Path = args.reports / f"soak-{started:%Y%m%dT%H%M%SZ}"
    extra = ["--tier", args.tier] if args.tier else []
    runs: list[SoakRun] = []
    interrupted = False
    try:
        runs.append(one_run(0, False, reports, extra, console))
        for i in range(1, args.runs + 1):
            t0 = time.monotonic()
            with Stress(args.cpu_workers, STRESS_TIMEOUT_S):
                runs.append(one_run(i, True, reports, extra, console))
            r, took = runs[-1], time.monotonic() - t0
            console.print(f"  exit {r.exit_code}, {r.scenario_runs} scenario runs, {len(r.runner_errors)} "
                          f"runner errors, {len(r.failed_verdicts)} failed verdicts, {len(r.vacuous)} missed "
                          f"goals, {took:.0f}s")
    except KeyboardInterrupt:
        interrupted = True
        console.print(f"soak interrupted: {len(runs)} finished run(s) summarised below")
        if not runs:
            return EXIT_INTERRUPTED
    summary = aggregate(runs, args.cpu_workers, started)
    (reports / "soak-summary.json").write_text(summary.model_dump_json(indent=2) + "\n")
    print_summary(console, summary)
    console.print(f"soak summary: {reports / 'soak-summary.json'}")
    clean = not (summary.runner_errors or summary.failed_verdicts or summary.vacuous or summary.lab_errors)
    return (EXIT_INTERRUPTED if interrupted else EXIT_OK if clean else EXIT_FAILED if summary.failed_verdicts
            else EXIT_LAB if summary.runner_errors or summary.lab_errors else EXIT_VACUOUS)


if __name__ == "__main__":
    sys.exit(main())

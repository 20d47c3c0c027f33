"""A run session: what `chaos-lab run`, `run --parallel` and `replay` share, in one place.

One run directory under `--reports` (its id, the exact scenarios it ran as files, the report), one lab or a
pool of N lab instances, Ctrl-C and CI's SIGTERM turned into a clean take-down, and one rule for what the
run came to (`exit_status`). The experiment itself is `runner.Runner`; `cli` only picks the cases.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from chaos_lab.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LAB, EXIT_OK, EXIT_USAGE, EXIT_VACUOUS
from chaos_lab.experiment.plan import plan
from chaos_lab.experiment.runner import Runner, ScenarioRun
from chaos_lab.lab.pool import LabPool, Work, Workers
from chaos_lab.lab.volume_size import VOLUME_SIZE_VAR
from chaos_lab.models import RunSummary, ScenarioResult
from chaos_lab.report.write import append_history, write_logs, write_reports, write_summary
from chaos_lab.scenarios.file_format import write_scenario
from chaos_lab.scenarios.model import Scenario
from chaos_lab.signals import interrupts_as_keyboard_interrupt, signals_deferred
from chaos_lab.workload.waiting import WaitMeter

SCENARIOS_DIR = "scenarios"
EVIDENCE_CHARS = 600  # per failed checker on the console; summary.json and the HTML keep it all
Finished = Callable[[Path, RunSummary], None]  # (run directory, its summary) once the report is written
Case = tuple[Scenario, int]


def usage_error(message: str) -> int:
    """Bad input: one line on stderr naming it, exit 2, before any lab work."""
    print(f"chaos-lab: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def seed_arg(text: str) -> int:
    """A seed (an argparse type): a non-negative integer; `-1` used to give seed 1's plan as another."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: a non-negative integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {value}: a non-negative integer")
    return value


def new_run_id(prefix: str = "") -> str:
    """`<prefix><UTC time>-<6 hex>`: sorts by time, never collides between parallel runs."""
    return f"{prefix}{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def exit_status(summary: RunSummary) -> int:
    """A failed verdict is news about the engine and wins; then a lab that could not run everything (3); then
    a run that tested nothing it claims (4). Never reported as the engine's."""
    if summary.interrupted:
        return EXIT_INTERRUPTED
    if summary.failed_verdicts:
        return EXIT_FAILED
    if summary.ok:
        return EXIT_OK
    if summary.runner_errors or summary.lab_error or not summary.vacuous:
        return EXIT_LAB
    return EXIT_VACUOUS


def finished_ok(summary: RunSummary, expected: int) -> bool:
    """A run passed only if it ran every case, was neither interrupted nor stopped by the lab, and every
    scenario passed."""
    return (
        bool(summary.results)
        and not summary.interrupted
        and summary.lab_error is None
        and len(summary.results) == expected
        and all(r.ok for r in summary.results)
    )


# -- the run directory
def replay_command(run_dir: Path, scenario: str, seed: int) -> str:
    """The command a person types to run this scenario run again from its run directory."""
    return f"chaos-lab replay {run_dir} --scenario {scenario} --seed {seed}"


def save_scenarios(run_dir: Path, cases: list[Case]) -> dict[str, str]:
    """Write each scenario of `cases` once, before anything runs (an interrupted run can be replayed too);
    returns scenario name -> its file, relative to `run_dir`."""
    saved: dict[str, str] = {}
    for scenario, _ in cases:
        if scenario.name not in saved:
            rel = f"{SCENARIOS_DIR}/{scenario.name}.yaml"
            write_scenario(scenario, run_dir / rel)
            saved[scenario.name] = rel
    return saved


def stamp(result: ScenarioResult, run_dir: Path, saved: dict[str, str], sources: dict[str, Path]) -> None:
    """Record in a result where its exact scenario is, the file it came from and how to replay it."""
    result.scenario_file = saved.get(result.scenario)
    source = sources.get(result.scenario)
    result.source_file = str(source) if source is not None else None
    result.replay = replay_command(run_dir, result.scenario, result.seed)


# -- the console
_MARKS = {
    "passed": "[green]PASS[/green]",
    "failed": "[red]FAIL[/red]",
    "runner_error": "[yellow]LAB ERROR[/yellow]",
    "vacuous": "[magenta]VACUOUS[/magenta]",
}


def _unknown(r: ScenarioResult) -> list[str]:
    return [v.name for v in r.verdicts if v.unknown]


def _attempts(r: ScenarioResult) -> str:
    """A run given more than one try at its goals: on which it met them, or that none did."""
    if r.status == "vacuous":
        return f" (goals missed in {r.attempts} runs)"
    return f" (goals met on run {r.attempts})"


def print_result(console: Console, r: ScenarioResult) -> None:
    mark = _MARKS[r.status]
    console.print(
        f"{mark} tier{r.tier} {r.scenario} seed={r.seed} {r.duration_s:.1f}s"
        + (f" cycle={r.cycle_s:.1f}s" if r.cycle_s is not None else "")
        + (_attempts(r) if r.attempts > 1 else "")
        + (f" [dim]({len(unknown)} checkers had nothing to judge)[/dim]" if (unknown := _unknown(r)) else "")
    )
    if r.runner_error is not None:
        e = r.runner_error
        console.print(
            f"   [yellow]lab could not run {e.phase}[/yellow] ({e.cause}): {e.message}", highlight=False
        )
        console.print("   (its checkers judged a partial run: not counted against the engine)")
        return
    for v in r.verdicts:
        if not v.ok:
            console.print(f"   [red]{v.name}[/red]: {v.summary}", highlight=False)
            evidence = str(v.evidence)
            if len(evidence) > EVIDENCE_CHARS:
                evidence = evidence[:EVIDENCE_CHARS] + " ... (truncated, all of it in summary.json)"
            console.print(f"      evidence: {evidence}", markup=False, highlight=False)
    for g in r.missed_goals:
        seen = ", ".join(f"{n} x{c}" for n, c in g.elsewhere.items()) or "none of them anywhere in the run"
        console.print(
            f"   [magenta]goal missed[/magenta]: {g.goal.describe()} ({g.goal.why or 'declared'}): "
            f"saw {g.seen}; elsewhere: {seen}",
            highlight=False,
        )
    if r.status != "passed" and r.replay:  # never wrapped: it is copied and pasted
        console.print(f"   replay: {r.replay}", markup=False, highlight=False, soft_wrap=True)


def print_totals(console: Console, summary: RunSummary, run_dir: Path) -> None:
    passed = sum(r.ok for r in summary.results)
    share = 100 * summary.wait_s / summary.duration_s if summary.duration_s else 0.0
    cycles = [r.cycle_s for r in summary.results if r.cycle_s is not None]
    console.print(
        f"{passed}/{len(summary.results)} scenario runs passed, {summary.failed_verdicts} with a failed "
        f"verdict, {summary.vacuous} vacuous, {summary.runner_errors} the lab could not run, "
        f"in {summary.duration_s:.1f}s "
        f"({share:.0f}% waiting; lab up {summary.lab_up_s:.1f}s, down {summary.lab_down_s:.1f}s)"
        + (f"; down→ready→verified cycle max {max(cycles):.1f}s" if cycles else "")
    )
    console.print(f"report: {run_dir / 'report.html'}")


# -- the labs
def take_down(console: Console, summary: RunSummary, down: Callable[[], None], what: str) -> None:
    """Take the lab(s) down, timed; a failure to do so fails the run (something may be left behind)."""
    t_down = time.monotonic()
    try:
        down()
    except Exception as exc:
        console.print(f"[red]taking {what} down failed[/red]: {exc}", highlight=False)
        summary.ok = False
        summary.lab_error = summary.lab_error or f"taking {what} down failed: {exc}"
    summary.lab_down_s = round(time.monotonic() - t_down, 3)


def default_lab_factory() -> Any:
    """The lab `make up/down` use: COMPOSE_PROJECT_NAME, not always `solat-lab`."""
    from chaos_lab.lab.docker import PROJECT, DockerLab  # Docker's SDK loads only when a lab is needed

    return DockerLab(project=os.environ.get("COMPOSE_PROJECT_NAME") or PROJECT)


class _Recorder:
    """Files each finished scenario run into the run directory and the summary, as it arrives."""

    def __init__(self, run_dir: Path, summary: RunSummary, cases: list[Case], saved: dict[str, str],
                 sources: dict[str, Path]) -> None:
        self.run_dir, self.summary, self.saved, self.sources = run_dir, summary, saved, sources
        self.order = {(s.name, seed): i for i, (s, seed) in enumerate(cases)}

    def __call__(self, run: ScenarioRun, console: Console) -> None:
        stamp(run.result, self.run_dir, self.saved, self.sources)
        self.summary.results.append(run.result)
        # The catalogue's order, whatever order parallel labs finish in: two runs compare line by line.
        self.summary.results.sort(key=lambda r: self.order.get((r.scenario, r.seed), 0))
        append_history(self.run_dir, run.history)
        write_logs(self.run_dir, run.result, run.logs)
        write_summary(self.run_dir, self.summary)
        print_result(console, run.result)


class _OneLab:
    """The cases one after another on one lab, with a progress line on the console."""

    def __init__(self, lab_factory: Any) -> None:
        self.lab = lab_factory()
        self.meter = WaitMeter()

    def describe(self) -> str:
        return ""

    def run(self, cases: list[Case], summary: RunSummary, record: _Recorder, console: Console) -> None:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("bringing the lab up", total=len(cases))

            def show(scenario: str, phase: str, fault: str | None) -> None:
                where = f"{scenario} · {phase}" + (f" · fault: {fault}" if fault else "")
                progress.update(task, description=where)

            t_up = time.monotonic()
            self.lab.up()
            summary.lab_up_s = round(time.monotonic() - t_up, 3)
            runner = Runner(self.lab, progress=show, meter=self.meter)
            for scenario, seed in cases:
                record(runner.run(scenario, seed), progress.console)
                progress.advance(task)

    def waited(self) -> float:
        return self.meter.waited

    def stop(self) -> None:
        pass

    def down(self) -> None:
        self.lab.down()


def longest_first(cases: list[Case]) -> list[Case]:
    """The runs with the most held time first (ties in catalogue order): on a pool, a long run that starts
    last keeps one lab busy while the others idle (the report keeps the catalogue's order either way)."""
    return sorted(cases, key=lambda case: -plan(*case).held_s())


class _LabPool:
    """The cases spread over N lab instances (chaos_lab/lab/pool.py), each result printed as it finishes."""

    def __init__(self, n: int, lab_factory: Any, cases: list[Case]) -> None:
        self.pool = LabPool(n, lab_factory=lab_factory)
        self.workers: Workers[Case, ScenarioRun] = Workers(
            self.pool.labs,
            Work.of(longest_first(cases)),
            lambda lab, meter, case: Runner(lab, meter=meter).run(*case),
        )

    def describe(self) -> str:
        return f" on {len(self.pool.labs)} labs ({', '.join(lab.project for lab in self.pool.labs)})"

    def run(self, cases: list[Case], summary: RunSummary, record: _Recorder, console: Console) -> None:
        t_up = time.monotonic()
        self.pool.up()
        summary.lab_up_s = round(time.monotonic() - t_up, 3)
        for run in self.workers.results():
            record(run, console)

    def waited(self) -> float:
        return self.workers.waited

    def stop(self) -> None:
        self.workers.work.stop.set()  # the others finish their current scenario

    def down(self) -> None:
        self.pool.down()  # first: a worker still mid-scenario fails fast once its lab is gone
        self.workers.join()
        self.pool.down()  # and whatever it touched on its way out


def run_cases(
    args: argparse.Namespace,
    cases: list[Case],
    console: Console,
    lab_factory: Any = None,
    sources: dict[str, Path] | None = None,
    finished: Finished | None = None,
) -> int:
    """Run `cases` into a new run directory under `args.reports`, on one lab or on `args.parallel` lab
    instances, and report. `sources` names the file each scenario came from (`run --file`, `replay`);
    `finished(run_dir, summary)` is called once the report is written (replay compares results there)."""
    if args.reports.exists() and not args.reports.is_dir():
        return usage_error(f"--reports {args.reports}: not a directory")
    sized = {s.start_from.volume_size for s, _ in cases if s.start_from and s.start_from.volume_size}
    if len(sized) > 1:
        return usage_error(f"the scenarios want different volume sizes ({', '.join(sorted(sized))})")
    with _volume_size(sized.pop() if sized else None):
        return _run(args, cases, console, lab_factory, sources or {}, finished)


@contextmanager
def _volume_size(size: str | None) -> Iterator[None]:
    """Production's disk size (`start_from.volume_size`) for every lab this run brings up (each copies the
    environment when it is made: compose/lab.yml's LAB_DATA_SIZE), and the caller's value back afterwards."""
    before = os.environ.get(VOLUME_SIZE_VAR)
    if size is not None:
        os.environ[VOLUME_SIZE_VAR] = size
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(VOLUME_SIZE_VAR, None)
        else:
            os.environ[VOLUME_SIZE_VAR] = before


def _run(args: argparse.Namespace, cases: list[Case], console: Console, lab_factory: Any,
         sources: dict[str, Path], finished: Finished | None) -> int:
    run_id = new_run_id()
    run_dir = args.reports / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        return usage_error(f"--reports {args.reports}: cannot create {run_dir}: {exc.strerror or exc}")
    saved = save_scenarios(run_dir, cases)
    summary = RunSummary(run_id=run_id, started=datetime.now(UTC), duration_s=0.0, wait_s=0.0, ok=False)
    record = _Recorder(run_dir, summary, cases, saved, sources)
    parallel = getattr(args, "parallel", 1)
    # A pool names each instance's project and ports itself (its factory takes them; None: DockerLab).
    one = lab_factory or default_lab_factory
    labs = _LabPool(parallel, lab_factory, cases) if parallel > 1 else _OneLab(one)
    console.print(f"chaos-lab run {run_id}: {len(cases)} scenario runs{labs.describe()}, report in {run_dir}")
    t0 = time.monotonic()
    with interrupts_as_keyboard_interrupt():  # SIGTERM from CI too: every lab goes down
        try:
            labs.run(cases, summary, record, console)
        except KeyboardInterrupt:
            summary.interrupted = True
            console.print("[yellow]interrupted: faults healed, taking the lab down[/yellow]")
        except Exception as exc:  # the lab itself failed (Docker gone, a service unhealthy): one line, exit 3
            summary.lab_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            console.print(f"[yellow]lab error[/yellow] {summary.lab_error}", highlight=False)
        finally:
            labs.stop()
            summary.duration_s = round(time.monotonic() - t0, 3)
            summary.wait_s = round(labs.waited(), 3)
            summary.ok = finished_ok(summary, len(cases))
            with signals_deferred():
                write_reports(run_dir, summary)
                if not args.keep_up or summary.interrupted:
                    take_down(console, summary, labs.down, "the lab" if parallel == 1 else "the labs")
                write_summary(run_dir, summary)
    print_totals(console, summary, run_dir)
    if finished is not None:
        finished(run_dir, summary)
    return exit_status(summary)

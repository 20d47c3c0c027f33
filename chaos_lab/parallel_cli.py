"""`chaos-lab run --parallel N` (and `make chaos JOBS=N`): the same runs and the same report as `run`, spread
over N lab instances (chaos_lab/parallel.py). Results are printed as they finish; the report lists them in the
catalogue's order so two runs of the same selection compare line by line."""

from __future__ import annotations

import argparse
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from chaos_lab.docker_lab import interrupts_as_keyboard_interrupt
from chaos_lab.models import RunSummary
from chaos_lab.parallel import LabPool, Work, Workers
from chaos_lab.replay import Finished, save_scenarios, stamp
from chaos_lab.report.files import append_history, write_logs, write_reports, write_summary
from chaos_lab.runner import Runner, ScenarioRun
from chaos_lab.scenarios.model import Scenario
from chaos_lab.waiting import WaitMeter


def cmd_run_parallel(
    args: argparse.Namespace,
    cases: list[tuple[Scenario, int]],
    console: Console,
    lab_factory: Any = None,
    sources: dict[str, Path] | None = None,
    finished: Finished | None = None,
) -> int:
    """As `cli.run_cases` (which calls it for `--parallel` > 1): the same run directory, files and hook."""
    from chaos_lab.cli import (
        _print_result,
        _print_totals,
        _usage_error,
        exit_status,
        finished_ok,
        take_down,
    )

    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    run_dir = args.reports / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        return _usage_error(f"--reports {args.reports}: cannot create {run_dir}: {exc.strerror or exc}")
    saved = save_scenarios(run_dir, cases)
    summary = RunSummary(run_id=run_id, started=datetime.now(UTC), duration_s=0.0, wait_s=0.0, ok=False)
    t0 = time.monotonic()
    pool = LabPool(args.parallel, lab_factory=lab_factory)
    order = {(s.name, seed): i for i, (s, seed) in enumerate(cases)}
    projects = ", ".join(lab.project for lab in pool.labs)
    console.print(f"chaos-lab run {run_id}: {len(cases)} scenario runs on {args.parallel} labs ({projects})")

    def one(lab: Any, meter: WaitMeter, case: tuple[Scenario, int]) -> ScenarioRun:
        return Runner(lab, meter=meter).run(*case)

    workers: Workers[tuple[Scenario, int], ScenarioRun] = Workers(pool.labs, Work.of(cases), one)
    with interrupts_as_keyboard_interrupt():  # SIGTERM from CI too: every instance goes down
        try:
            t_up = time.monotonic()
            pool.up()
            summary.lab_up_s = round(time.monotonic() - t_up, 3)
            for run in workers.results():
                stamp(run.result, run_dir, saved, sources or {})
                summary.results.append(run.result)
                summary.results.sort(key=lambda r: order.get((r.scenario, r.seed), 0))
                append_history(run_dir, run.history)
                write_logs(run_dir, run.result, run.logs)
                write_summary(run_dir, summary)
                _print_result(console, run.result)
        except KeyboardInterrupt:
            summary.interrupted = True
            console.print("[yellow]interrupted: taking every lab instance down[/yellow]")
        except Exception as exc:
            summary.lab_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            console.print(f"[red]lab error[/red] {summary.lab_error}", highlight=False)
        finally:
            workers.work.stop.set()
            summary.duration_s = round(time.monotonic() - t0, 3)
            summary.wait_s = round(workers.waited, 3)
            summary.ok = finished_ok(summary, len(cases))
            write_reports(run_dir, summary)
            if not args.keep_up or summary.interrupted:

                def down_all() -> None:
                    pool.down()  # first: a worker still mid-scenario fails fast once its lab is gone
                    workers.join()
                    pool.down()  # and whatever it touched on its way out

                take_down(console, summary, down_all, "the labs")
            write_summary(run_dir, summary)
    _print_totals(console, summary, run_dir)
    if finished is not None:
        finished(run_dir, summary)
    return exit_status(summary)

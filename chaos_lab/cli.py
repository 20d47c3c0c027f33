"""`chaos-lab`: list the scenarios, run them against the Compose lab, replay a report's failures, re-render a
saved report, and print the reference generated from the code.

Exit statuses are chaos_lab/exits.py's, the same for every subcommand (`chaos-lab --help` prints the table).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from chaos_lab.exits import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LAB,
    EXIT_OK,
    EXIT_TABLE,
    EXIT_USAGE,
    EXIT_VACUOUS,
)
from chaos_lab.models import RunSummary, ScenarioResult
from chaos_lab.replay import Finished, save_scenarios, stamp
from chaos_lab.replay import add_parser as add_replay
from chaos_lab.report.files import append_history, read_summary, write_logs, write_reports, write_summary
from chaos_lab.scenarios.catalog import SCENARIOS, select
from chaos_lab.scenarios.model import Scenario
from chaos_lab.selftest import command as selftest_command

EVIDENCE_CHARS = 600  # per failed checker on the console; summary.json and the HTML keep it all


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


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line naming it and exit 2, not argparse's usage block (subparsers inherit)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"chaos-lab: error: {message}\n")


def _seed(text: str) -> int:
    """A seed is a non-negative integer: `-1` used to give seed 1's plan under another label."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: a non-negative integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {value}: a non-negative integer")
    return value


def _parser() -> argparse.ArgumentParser:
    rows = "\n".join(f"  {code:<4} {text}" for code, text in EXIT_TABLE)
    epilog = f"exit status (every subcommand):\n{rows}"
    parser = _Parser(
        prog="chaos-lab",
        description="Chaos lab for the solat execution engine.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the scenarios (tab-separated when not on a terminal)")
    listing.add_argument("--tier", type=int, help="only this tier (1-4)")
    listing.add_argument(
        "--format", choices=["table", "tsv", "json"], help="default: table on a terminal, else tsv"
    )
    run = sub.add_parser("run", help="bring the lab up, run scenarios, write a report, take the lab down")
    run.add_argument("--tier", type=int, help="only this tier (1-4)")
    run.add_argument("--scenario", help="only this scenario (see `list`)")
    run.add_argument(
        "--seed", type=_seed, help="one seed for every scenario (default: each scenario's seeds)"
    )
    run.add_argument("--file", type=Path, help="run the scenario or incident in this YAML/JSON file")
    run.add_argument("--parallel", type=int, default=1, help="spread the runs over N lab instances")
    run.add_argument("--keep-up", action="store_true", help="leave the lab running afterwards")
    run.add_argument(
        "--reports", type=Path, default=Path("reports"), help="reports directory (default: reports)"
    )
    show = sub.add_parser("show", help="print a catalogue scenario as a scenario file")
    show.add_argument("name")
    show.add_argument("--format", choices=["yaml", "json"], default="yaml")
    from chaos_lab.explore.cli import add_parser as add_explore

    add_explore(sub)
    report = sub.add_parser("report", help="re-render report.html and junit.xml from a saved run")
    report.add_argument("run_dir", type=Path)
    add_replay(sub)
    from chaos_lab import reference

    reference.add_parsers(sub)
    from chaos_lab.crashstates import cli as crashstates_cli

    crashstates_cli.add_parser(sub)
    selftest_command.add_parser(sub)
    return parser


def _usage_error(message: str) -> int:
    print(f"chaos-lab: error: {message}", file=sys.stderr)
    return EXIT_USAGE


class ListedScenario(BaseModel):
    """One row of `chaos-lab list --format json` (read by scripts)."""

    tier: int
    name: str
    faults: list[str]
    checkers: list[str]
    seeds: list[int]
    description: str


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    """The catalogue; a name is never cut: a script (stdout not a terminal) gets tab-separated lines with a
    header, or JSON; a terminal a table whose name column is as wide as the longest name."""
    tier = getattr(args, "tier", None)
    if tier is not None and not 1 <= tier <= 4:
        return _usage_error(f"unknown tier {tier} (tiers: 1-4)")
    rows = [
        ListedScenario(
            tier=s.tier, name=s.name, faults=s.fault_kinds, checkers=[c.name for c in s.checkers],
            seeds=list(s.seeds), description=s.description,
        )
        for s in SCENARIOS
        if tier is None or s.tier == tier
    ]
    fmt = getattr(args, "format", None) or ("table" if sys.stdout.isatty() else "tsv")
    if fmt == "json":
        print(json.dumps([r.model_dump() for r in rows], indent=2))
    elif fmt == "tsv":
        print("tier\tscenario\tfaults\tcheckers\tseeds\tdescription")
        for r in rows:
            seeds = ",".join(map(str, r.seeds))
            cells = [str(r.tier), r.name, ",".join(r.faults), ",".join(r.checkers), seeds]
            print("\t".join([*cells, " ".join(r.description.split())]))
    else:
        table = Table(show_lines=False)
        table.add_column("tier")
        table.add_column("scenario", no_wrap=True, min_width=max((len(r.name) for r in rows), default=8))
        for column in ("faults", "checkers", "seeds", "description"):
            table.add_column(column)
        for r in rows:
            table.add_row(
                str(r.tier), r.name, ", ".join(r.faults), ", ".join(r.checkers), ",".join(map(str, r.seeds)),
                r.description,
            )
        console.print(table)
    return EXIT_OK


def _sigterm_as_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _uninterruptible() -> Iterator[None]:
    """Taking the lab down must finish even if the user presses Ctrl-C again."""
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


_MARKS = {
    "passed": "[green]PASS[/green]",
    "failed": "[red]FAIL[/red]",
    "runner_error": "[yellow]LAB ERROR[/yellow]",
    "vacuous": "[magenta]VACUOUS[/magenta]",
}


def _print_result(console: Console, r: ScenarioResult) -> None:
    mark = _MARKS[r.status]
    console.print(
        f"{mark} tier{r.tier} {r.scenario} seed={r.seed} {r.duration_s:.1f}s"
        + (f" cycle={r.cycle_s:.1f}s" if r.cycle_s is not None else "")
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


def cmd_run(args: argparse.Namespace, console: Console, lab_factory: Any = None) -> int:
    file: Path | None = getattr(args, "file", None)
    try:
        scenarios: list[Scenario] = select(args.tier, args.scenario) if file is None else []
    except KeyError as exc:
        return _usage_error(str(exc.args[0]))
    if file is not None:
        from chaos_lab.scenarios.files import ScenarioFileError, load_scenario

        try:
            scenarios = [load_scenario(file)]
        except ScenarioFileError as exc:
            return _usage_error(str(exc))
    cases = [(s, seed) for s in scenarios for seed in ([args.seed] if args.seed is not None else s.seeds)]
    sources = {s.name: file for s in scenarios} if file is not None else {}
    return run_cases(args, cases, console, lab_factory, sources=sources)


def run_cases(
    args: argparse.Namespace,
    cases: list[tuple[Scenario, int]],
    console: Console,
    lab_factory: Any = None,
    sources: dict[str, Path] | None = None,
    finished: Finished | None = None,
) -> int:
    """Run `cases` into a new run directory under `args.reports` (on one lab, or N with `--parallel`).

    `sources` names the file each scenario came from (`run --file`, `replay`); `finished(run_dir, summary)` is
    called once the report is written (replay compares the new results with the old ones there)."""
    if args.reports.exists() and not args.reports.is_dir():
        return _usage_error(f"--reports {args.reports}: not a directory")
    if getattr(args, "parallel", 1) > 1:
        from chaos_lab.parallel_cli import cmd_run_parallel

        return cmd_run_parallel(args, cases, console, lab_factory, sources=sources, finished=finished)
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    run_dir = args.reports / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        return _usage_error(f"--reports {args.reports}: cannot create {run_dir}: {exc.strerror or exc}")
    saved = save_scenarios(run_dir, cases)
    started, t0 = datetime.now(UTC), time.monotonic()
    summary = RunSummary(run_id=run_id, started=started, duration_s=0.0, wait_s=0.0, ok=False)

    from chaos_lab.runner import Runner
    from chaos_lab.waiting import WaitMeter

    if lab_factory is None:
        from chaos_lab.docker_lab import PROJECT, DockerLab

        def lab_factory() -> DockerLab:  # COMPOSE_PROJECT_NAME, as `make up/down` use: not always `solat-lab`
            return DockerLab(project=os.environ.get("COMPOSE_PROJECT_NAME") or PROJECT)

    old_term = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    lab = lab_factory()
    meter = WaitMeter()
    console.print(f"chaos-lab run {run_id}: {len(cases)} scenario runs, report in {run_dir}")
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("bringing the lab up", total=len(cases))

            def show(scenario: str, phase: str, fault: str | None) -> None:
                progress.update(
                    task, description=f"{scenario} · {phase}" + (f" · fault: {fault}" if fault else "")
                )

            t_up = time.monotonic()
            lab.up()
            summary.lab_up_s = round(time.monotonic() - t_up, 3)
            runner = Runner(lab, progress=show, meter=meter)
            for scenario, seed in cases:
                run = runner.run(scenario, seed)
                stamp(run.result, run_dir, saved, sources or {})
                summary.results.append(run.result)
                append_history(run_dir, run.history)
                write_logs(run_dir, run.result, run.logs)
                write_summary(run_dir, summary)
                progress.advance(task)
                _print_result(progress.console, run.result)
    except KeyboardInterrupt:
        summary.interrupted = True
        console.print("[yellow]interrupted: faults healed, taking the lab down[/yellow]")
    except Exception as exc:  # the lab itself failed (Docker gone, a service unhealthy): one line, exit 3
        summary.lab_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        console.print(f"[yellow]lab error[/yellow] {summary.lab_error}", highlight=False)
    finally:
        summary.duration_s = round(time.monotonic() - t0, 3)
        summary.wait_s = round(meter.waited, 3)
        summary.ok = finished_ok(summary, len(cases))
        with _uninterruptible():
            write_reports(run_dir, summary)
            if not args.keep_up:
                take_down(console, summary, lab.down, "the lab")
                write_summary(run_dir, summary)
        signal.signal(signal.SIGTERM, old_term)
    _print_totals(console, summary, run_dir)
    if finished is not None:
        finished(run_dir, summary)
    return exit_status(summary)


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


def _print_totals(console: Console, summary: RunSummary, run_dir: Path) -> None:
    passed = sum(r.ok for r in summary.results)
    share = 100 * summary.wait_s / summary.duration_s if summary.duration_s else 0.0
    cycles = [r.cycle_s for r in summary.results if r.cycle_s is not None]
    console.print(
        f"{passed}/{len(summary.results)} scenario runs passed, {summary.failed_verdicts} with a failed "
        f"verdict, {summary.vacuous} vacuous, {summary.runner_errors} the lab could not run, "
        f"in {summary.duration_s:.1f}s "
        f"({share:.0f}% waiting; lab up {summary.lab_up_s:.1f}s, down {summary.lab_down_s:.1f}s)"
        + (f"; kill→ready→verified cycle max {max(cycles):.1f}s" if cycles else "")
    )
    console.print(f"report: {run_dir / 'report.html'}")


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    run_dir: Path = args.run_dir
    if not (run_dir / "summary.json").is_file():
        return _usage_error(f"{run_dir} has no summary.json (not a chaos-lab run directory)")
    try:
        summary = read_summary(run_dir)
        write_reports(run_dir, summary)
    except ValueError as exc:
        return _usage_error(f"{run_dir}: {str(exc).splitlines()[0]}")
    for r in summary.results:
        _print_result(console, r)
    _print_totals(console, summary, run_dir)
    return exit_status(summary)


def cmd_show(args: argparse.Namespace) -> int:
    from chaos_lab.scenarios.files import dump_scenario

    try:
        (scenario,) = select(None, args.name)
    except KeyError as exc:
        return _usage_error(str(exc.args[0]))
    print(dump_scenario(scenario, args.format), end="")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=False, highlight=False)
    if args.command == "list":
        return cmd_list(args, console)
    if args.command == "report":
        return cmd_report(args, console)
    if args.command in ("kinds", "checkers", "steps", "reach", "reference"):
        from chaos_lab import reference

        return reference.main(args.command)
    if args.command == "replay":
        from chaos_lab.replay import cmd_replay

        return cmd_replay(args, console)
    if args.command == "crashstates":
        from chaos_lab.crashstates import cli as crashstates_cli

        return crashstates_cli.main(args)
    if args.command == "selftest":
        return selftest_command.run(args)
    if args.command == "show":
        return cmd_show(args)
    if args.command == "explore":
        from chaos_lab.explore.cli import cmd_explore

        return cmd_explore(args, console)
    if args.file is not None and (args.scenario is not None or args.tier is not None):
        given = "--scenario" if args.scenario is not None else "--tier"
        return _usage_error(f"--file runs the scenario in the file: it cannot be combined with {given}")
    if not 1 <= getattr(args, "parallel", 1) <= 8:
        return _usage_error(f"--parallel must be 1..8, got {args.parallel}")
    if args.tier is not None and not 1 <= args.tier <= 4:
        return _usage_error(f"unknown tier {args.tier} (tiers: 1-4)")
    return cmd_run(args, console)


if __name__ == "__main__":
    sys.exit(main())

"""`chaos-lab`: list the scenarios, run them against the Compose lab, replay a report's failures, re-render a
saved report, and print the reference generated from the code.

Exit statuses are chaos_lab/cli/exits.py's, the same for every subcommand (`chaos-lab --help` prints the
table).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from chaos_lab.cli.exits import (
    EXIT_OK,
    EXIT_TABLE,
    EXIT_USAGE,
)
from chaos_lab.cli.replay import add_parser as add_replay
from chaos_lab.cli.session import exit_status, print_result, print_totals, run_cases, seed_arg, usage_error
from chaos_lab.corpus import command as corpus_cli
from chaos_lab.corpus.store import TIER as CORPUS_TIER
from chaos_lab.corpus.store import CorpusError, gate
from chaos_lab.report.write import read_summary, write_reports
from chaos_lab.scenarios.catalog import select
from chaos_lab.scenarios.model import Scenario
from chaos_lab.selftest import command as selftest_command


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line naming it and exit 2, not argparse's usage block (subparsers inherit)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"chaos-lab: error: {message}\n")


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
    listing.add_argument("--tier", type=int, help="only this tier (1-5; 5: the corpus)")
    listing.add_argument("--corpus", type=Path, default=corpus_cli.DEFAULT_DIR, metavar="DIR")
    listing.add_argument(
        "--format", choices=["table", "tsv", "json"], help="default: table on a terminal, else tsv"
    )
    run = sub.add_parser("run", help="bring the lab up, run scenarios, write a report, take the lab down")
    run.add_argument("--tier", type=int, help="only this tier (1-5; 5: the corpus)")
    run.add_argument("--scenario", help="only this scenario (see `list`)")
    run.add_argument(
        "--seed", type=seed_arg, help="one seed for every scenario (default: each scenario's seeds)"
    )
    run.add_argument("--file", type=Path, help="run the scenario or incident in this YAML/JSON file")
    run.add_argument(
        "--data-from",
        type=Path,
        metavar="DIR",
        help="start from this captured engine data directory (with --file or --scenario)",
    )
    run.add_argument(
        "--corpus",
        type=Path,
        default=corpus_cli.DEFAULT_DIR,
        metavar="DIR",
        help="the corpus run as tier 5 (default: corpus; its admitted entries, if the directory exists)",
    )
    run.add_argument("--parallel", type=int, default=1, help="spread the runs over N lab instances")
    run.add_argument("--keep-up", action="store_true", help="leave the lab running afterwards")
    run.add_argument(
        "--reports", type=Path, default=Path("reports"), help="reports directory (default: reports)"
    )
    show = sub.add_parser("show", help="print a catalogue or corpus scenario as a scenario file")
    show.add_argument("name")
    show.add_argument("--corpus", type=Path, default=corpus_cli.DEFAULT_DIR, metavar="DIR")
    show.add_argument("--format", choices=["yaml", "json"], default="yaml")
    from chaos_lab.explore.command import add_parser as add_explore

    add_explore(sub)
    report = sub.add_parser("report", help="re-render report.html and junit.xml from a saved run")
    report.add_argument("run_dir", type=Path)
    add_replay(sub)
    from chaos_lab.cli import reference

    reference.add_parsers(sub)
    from chaos_lab.crashstates import command as crashstates_cli

    crashstates_cli.add_parser(sub)
    selftest_command.add_parser(sub)
    corpus_cli.add_parser(sub)
    return parser


class ListedScenario(BaseModel):
    """One row of `chaos-lab list --format json` (read by scripts)."""

    tier: int
    name: str
    faults: list[str]
    checkers: list[str]
    seeds: list[int]
    description: str


TIERS = range(1, CORPUS_TIER + 1)


def choose(tier: int | None, name: str | None, corpus: Path | None) -> list[Scenario]:
    """The gate: the catalogue (tiers 1-4) and the corpus's admitted entries (tier 5), by tier and/or name.
    Raises KeyError (unknown tier or name) or CorpusError (a corpus that cannot be read), one line each."""
    entries = gate(corpus)
    if tier is not None and tier not in TIERS:
        raise KeyError(f"unknown tier {tier} (tiers: 1-{CORPUS_TIER}; {CORPUS_TIER} is the corpus)")
    if tier == CORPUS_TIER or (name is not None and name in {s.name for s in entries}):
        chosen = [s for s in entries if name is None or s.name == name]
        if not chosen:
            raise KeyError(f"the corpus ({corpus}) has no admitted entry" + (f" {name!r}" if name else ""))
        return chosen
    return select(tier, name) + (entries if tier is None and name is None else [])


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    """The catalogue; a name is never cut: a script (stdout not a terminal) gets tab-separated lines with a
    header, or JSON; a terminal a table whose name column is as wide as the longest name."""
    try:
        scenarios = choose(getattr(args, "tier", None), None, getattr(args, "corpus", None))
    except (KeyError, CorpusError) as exc:
        return usage_error(str(exc.args[0]))
    rows = [
        ListedScenario(
            tier=s.tier,
            name=s.name,
            faults=s.fault_kinds,
            checkers=[c.name for c in s.judged_by],
            seeds=list(s.seeds),
            description=s.description,
        )
        for s in scenarios
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
                str(r.tier),
                r.name,
                ", ".join(r.faults),
                ", ".join(r.checkers),
                ",".join(map(str, r.seeds)),
                r.description,
            )
        console.print(table)
    return EXIT_OK


def cmd_run(args: argparse.Namespace, console: Console, lab_factory: Any = None) -> int:
    file: Path | None = getattr(args, "file", None)
    try:
        corpus = getattr(args, "corpus", None)
        scenarios: list[Scenario] = choose(args.tier, args.scenario, corpus) if file is None else []
    except (KeyError, CorpusError) as exc:
        return usage_error(str(exc.args[0]))
    data_from: Path | None = getattr(args, "data_from", None)
    if file is not None or data_from is not None:
        from chaos_lab.scenarios.file_format import ScenarioFileError, load_scenario, started_from

        try:
            scenarios = [load_scenario(file)] if file is not None else scenarios
            if data_from is not None:
                scenarios = [started_from(s, data_from) for s in scenarios]
        except ScenarioFileError as exc:
            return usage_error(str(exc))
    cases = [(s, seed) for s in scenarios for seed in ([args.seed] if args.seed is not None else s.seeds)]
    sources = {s.name: file for s in scenarios} if file is not None else {}
    return run_cases(args, cases, console, lab_factory, sources=sources)


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    run_dir: Path = args.run_dir
    if not (run_dir / "summary.json").is_file():
        return usage_error(f"{run_dir} has no summary.json (not a chaos-lab run directory)")
    try:
        summary = read_summary(run_dir)
        write_reports(run_dir, summary)
    except ValueError as exc:
        return usage_error(f"{run_dir}: {str(exc).splitlines()[0]}")
    for r in summary.results:
        print_result(console, r)
    print_totals(console, summary, run_dir)
    return exit_status(summary)


def cmd_show(args: argparse.Namespace) -> int:
    from chaos_lab.scenarios.file_format import dump_scenario

    try:
        (scenario,) = choose(None, args.name, getattr(args, "corpus", None))
    except (KeyError, CorpusError) as exc:
        return usage_error(str(exc.args[0]))
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
        from chaos_lab.cli import reference

        return reference.main(args.command)
    if args.command == "replay":
        from chaos_lab.cli.replay import cmd_replay

        return cmd_replay(args, console)
    if args.command == "crashstates":
        from chaos_lab.crashstates import command as crashstates_cli

        return crashstates_cli.main(args)
    if args.command == "selftest":
        return selftest_command.run(args)
    if args.command == "show":
        return cmd_show(args)
    if args.command == "corpus":
        return corpus_cli.main(args, console)
    if args.command == "explore":
        from chaos_lab.explore.command import cmd_explore

        return cmd_explore(args, console)
    if args.file is not None and (args.scenario is not None or args.tier is not None):
        given = "--scenario" if args.scenario is not None else "--tier"
        return usage_error(f"--file runs the scenario in the file: it cannot be combined with {given}")
    if args.data_from is not None and args.file is None and args.scenario is None:
        return usage_error("--data-from starts a scenario from captured data: give --file or --scenario")
    if not 1 <= getattr(args, "parallel", 1) <= 8:
        return usage_error(f"--parallel must be 1..8, got {args.parallel}")
    if args.tier is not None and args.tier not in TIERS:
        return usage_error(f"unknown tier {args.tier} (tiers: 1-{CORPUS_TIER}; {CORPUS_TIER} is the corpus)")
    return cmd_run(args, console)


if __name__ == "__main__":
    sys.exit(main())

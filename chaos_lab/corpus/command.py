"""`chaos-lab corpus {list,collect,add,admit,min}`: the gate's corpus (chaos_lab/corpus/__init__.py).

    chaos-lab explore --budget 5m --seed 1 --parallel 2 --keep-going
    chaos-lab corpus collect reports/explore-<id>   # what reached something new becomes a candidate
    chaos-lab corpus min --budget 90s               # the smallest set reaching the same, within the budget
    chaos-lab corpus admit --parallel 2             # 5 replays idle, 5 under stress-ng: only passers enter
    chaos-lab corpus add FILE                       # a scenario or incident file, through the same replays
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from chaos_lab.cli.exits import EXIT_OK
from chaos_lab.cli.session import usage_error
from chaos_lab.corpus.admit import admit
from chaos_lab.corpus.collect import collect
from chaos_lab.corpus.features import features
from chaos_lab.corpus.minimise import minimise
from chaos_lab.corpus.store import CorpusError, Entry, header, read_index, save, scenario_path, write_index
from chaos_lab.explore.command import parse_duration
from chaos_lab.lab.stress import MISSING, Stress
from chaos_lab.scenarios.file_format import ScenarioFileError, load_scenario

DEFAULT_DIR = Path("corpus")
MAX_REPLAYS = 20


def add_parser(sub: Any) -> None:
    p = sub.add_parser("corpus", help="the gate's corpus of explored schedules (tier 5 of `run`)")
    verbs = p.add_subparsers(dest="verb", required=True)
    for verb, text in (
        ("list", "the entries"),
        ("collect", "candidates from an explore directory"),
        ("add", "add a scenario file and admit it"),
        ("admit", "replay candidates; admit passers"),
        ("min", "keep the smallest set reaching the same"),
    ):
        v = verbs.add_parser(verb, help=text)
        v.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the corpus (default: corpus)")
        if verb == "collect":
            v.add_argument("explore_dir", type=Path)
        if verb == "add":
            v.add_argument("file", type=Path)
        if verb == "admit":
            v.add_argument("names", nargs="*", help="entries to (re)admit (default: every candidate)")
        if verb in ("add", "admit"):
            v.add_argument("--replays", type=int, default=5,
                           help="replays that must all pass, idle and again under stress-ng (default 5)")
            v.add_argument("--no-load", dest="load", action="store_false",
                           help="only the idle replays (no stress-ng)")
            v.add_argument("--parallel", type=int, default=1, help="lab instances (1-8)")
            v.add_argument("--reports", type=Path, default=Path("reports"), help="reports directory")
            v.add_argument("--keep-up", action="store_true", help=argparse.SUPPRESS)
        if verb == "min":
            v.add_argument("--budget", help="the corpus's share of the gate, one lab, e.g. 90s")
            v.add_argument("--dry-run", action="store_true", help="print what would be removed")


def main(args: argparse.Namespace, console: Console, lab_factory: Any = None) -> int:
    try:
        return _VERBS[args.verb](args, console, lab_factory)
    except CorpusError as exc:
        return usage_error(str(exc))


def _list(args: argparse.Namespace, console: Console, _: Any) -> int:
    index = read_index(args.dir)
    for e in index.entries:
        a = e.admitted
        state = f"admitted {a.passed}/{a.replays}{' loaded' if a.loaded else ''}" if a else "candidate"
        found = f" found {','.join(e.found)}" if e.found else ""
        console.print(f"{e.name:<24} {state:<20} {e.duration_s:5.1f}s {len(e.features):3d} features{found}  "
                      f"{e.source}", highlight=False, markup=False, soft_wrap=True)
    admitted = [e for e in index.entries if e.admitted]
    console.print(f"{len(index.entries)} entries, {len(admitted)} admitted "
                  f"({sum(e.duration_s for e in admitted):.1f}s of runs), {len(index.covered())} features")
    return EXIT_OK


def _collect(args: argparse.Namespace, console: Console, _: Any) -> int:
    added = collect(args.explore_dir, args.dir)
    for e in added:
        why = f"found {','.join(e.found)}" if e.found else f"new: {', '.join(e.new)}"
        console.print(f"candidate {e.name} ({e.source}): {why}", highlight=False, markup=False,
                      soft_wrap=True)
    console.print(f"{len(added)} candidates added to {args.dir}")
    return EXIT_OK


def _replay_usage(args: argparse.Namespace) -> str | None:
    if not 1 <= args.replays <= MAX_REPLAYS:
        return f"--replays must be 1..{MAX_REPLAYS}, got {args.replays}"
    if not 1 <= args.parallel <= 8:
        return f"--parallel must be 1..8, got {args.parallel}"
    return None


def _load_missing(args: argparse.Namespace) -> str | None:
    """Checked after every argument and file: a typo is named first, whatever this machine lacks."""
    return f"{MISSING}, or replay with --no-load" if args.load and not Stress.available() else None


def _add(args: argparse.Namespace, console: Console, lab_factory: Any) -> int:
    problem = _replay_usage(args)
    if problem:
        return usage_error(problem)
    try:
        scenario = load_scenario(args.file)
    except ScenarioFileError as exc:
        return usage_error(str(exc))
    index = read_index(args.dir)
    if index.get(scenario.name) is not None:
        return usage_error(f"{args.file}: the corpus already has an entry {scenario.name!r}")
    if missing := _load_missing(args):
        return usage_error(missing)
    entry = Entry(name=scenario.name, source=f"added from {Path(args.file).name}",
                  features=sorted(features(scenario.fault_kinds, {})), duration_s=0.0)
    save(args.dir, scenario, header(entry))
    index.entries.append(entry)
    write_index(args.dir, index)
    return admit(args.dir, [scenario.name], args, console, lab_factory)


def _admit(args: argparse.Namespace, console: Console, lab_factory: Any) -> int:
    problem = _replay_usage(args)
    if problem:
        return usage_error(problem)
    index = read_index(args.dir)
    unknown = [n for n in args.names if index.get(n) is None]
    if unknown:
        return usage_error(f"corpus {args.dir} has no entry {unknown[0]!r} (see `chaos-lab corpus list`)")
    if missing := _load_missing(args):
        return usage_error(missing)
    return admit(args.dir, list(args.names), args, console, lab_factory)


def _min(args: argparse.Namespace, console: Console, _: Any) -> int:
    budget_s: float | None = None
    if args.budget is not None:
        try:
            budget_s = parse_duration(args.budget)
        except ValueError as exc:
            return usage_error(f"--budget: {exc}")
    index = read_index(args.dir)
    kept, lost = minimise(index, budget_s)
    dropped = [e for e in index.entries if e not in kept]
    for e in dropped:
        verb = "would remove" if args.dry_run else "removed"
        console.print(f"{verb} {e.name} ({e.duration_s:.1f}s)", soft_wrap=True)
    seconds = sum(e.duration_s for e in kept)
    console.print(f"{len(kept)} of {len(index.entries)} entries kept ({seconds:.1f}s); "
                  f"features no longer reached: {', '.join(sorted(lost)) or 'none'}",
                  highlight=False, soft_wrap=True)
    if not args.dry_run:
        for e in dropped:
            scenario_path(args.dir, e.name).unlink(missing_ok=True)
        index.entries = kept
        write_index(args.dir, index)
    return EXIT_OK


_VERBS = {"list": _list, "collect": _collect, "add": _add, "admit": _admit, "min": _min}

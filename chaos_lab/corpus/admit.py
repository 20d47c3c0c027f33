"""`corpus admit` / `corpus add FILE`: a candidate enters the gate only after N replays on the lab's engine
(the correct one) all passed, by default under stress-ng on every core: a schedule that fails even once
would make a release gate cry wolf (or holds an engine bug to fix first). The replays run through the one run
session (chaos_lab/session.py): one run directory, one report, the same take-down. What every replay reached
becomes the entry's features: `corpus min` then keeps entries for what they reach reliably."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from chaos_lab.corpus.features import features
from chaos_lab.corpus.store import Admission, Entry, load, read_index, write_index
from chaos_lab.models import RunSummary, ScenarioResult
from chaos_lab.session import run_cases
from chaos_lab.stress import Stress

STRESS_TIMEOUT_S = 3600  # bound on the stress-ng process of one admission, whatever happens to it


def judge(entry: Entry, kinds: list[str], results: list[ScenarioResult], replays: int, loaded: bool,
          run_dir: Path) -> tuple[bool, str]:
    """Record the replays in `entry` (admitted only if every one passed); returns (admitted, one line)."""
    passed = [r for r in results if r.status == "passed"]
    if len(results) != replays or len(passed) != replays:
        bad = [f"{r.status} ({', '.join(v.name for v in r.verdicts if not v.ok) or r.error or 'goal'})"
               for r in results if r.status != "passed"]
        missing = replays - len(results)
        why = "; ".join(bad + ([f"{missing} not run"] if missing else []))
        return False, f"{entry.name}: NOT admitted, {len(passed)}/{replays} passed: {why}"
    reliable = set.intersection(*(set(features(kinds, r.reach)) for r in results))
    entry.features = sorted(reliable | {f"found:{c}" for c in entry.found})
    mean = sum(r.duration_s for r in results) / len(results)
    entry.duration_s = round(mean, 3)
    entry.admitted = Admission(replays=replays, passed=len(passed), loaded=loaded, at=datetime.now(UTC),
                               mean_duration_s=round(mean, 3), run_dir=str(run_dir))
    return True, f"{entry.name}: admitted, {replays}/{replays} passed{' under load' if loaded else ''}"


def admit(root: Path, names: list[str], args: argparse.Namespace, console: Console,
          lab_factory: Any = None) -> int:
    """Replay the named entries (none named: every candidate) `args.replays` times; returns the exit
    status: 0 every one admitted, 1 one was not (a failed replay), else the run's own status."""
    index = read_index(root)
    chosen = [e for e in index.entries if e.name in names] if names else \
        [e for e in index.entries if e.admitted is None]
    if not chosen:
        console.print(f"corpus {root}: no candidate to admit")
        return 0
    scenarios = {e.name: load(root, e) for e in chosen}
    cases = [(scenarios[e.name], scenarios[e.name].seeds[0]) for _ in range(args.replays) for e in chosen]
    done: list[tuple[Path, RunSummary]] = []
    finished: Callable[[Path, RunSummary], None] = lambda run_dir, s: done.append((run_dir, s))  # noqa: E731
    console.print(f"corpus {root}: {len(chosen)} entries x {args.replays} replays"
                  f"{' under stress-ng' if args.load else ''}")
    if args.load:
        with Stress(os.cpu_count() or 2, STRESS_TIMEOUT_S):
            status = run_cases(args, cases, console, lab_factory, finished=finished)
    else:
        status = run_cases(args, cases, console, lab_factory, finished=finished)
    if not done or done[0][1].interrupted or done[0][1].lab_error:
        return status  # nothing judged: the entries stay as they were
    run_dir, summary = done[0]
    admitted_all = True
    for e in chosen:
        results = [r for r in summary.results if r.scenario == e.name]
        ok, line = judge(e, scenarios[e.name].fault_kinds, results, args.replays, args.load, run_dir)
        admitted_all &= ok
        console.print(line, highlight=False, soft_wrap=True)
    write_index(root, index)
    return 0 if admitted_all else 1

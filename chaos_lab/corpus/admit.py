"""`corpus admit` / `corpus add FILE`: a candidate enters the gate only after N replays on the lab's engine
(the correct one) all passed, by default N on the idle host and then N under stress-ng on every core: a
schedule that fails even once would make a release gate cry wolf (or holds an engine bug to fix first), and a
goal it meets only on a slow host (or only on a fast one) would make it vacuous by chance. Each set of
replays runs through the one run session (chaos_lab/cli/session.py): a run directory and a report each, the
same take-down. What every replay reached becomes the entry's features (`corpus min` then keeps entries for
what they reach reliably), and the goals every replay met become the entry's own goals, written into its
file."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from chaos_lab.cli.session import run_cases
from chaos_lab.corpus.features import features
from chaos_lab.corpus.store import Admission, Entry, header, load, read_index, save, write_index
from chaos_lab.lab.stress import Stress
from chaos_lab.models import Goal, RunSummary, ScenarioResult
from chaos_lab.scenarios.model import Scenario

REACHED = "reached in every admission replay"
# An explored schedule's reach depends on timing: goals met in 10 of 10 loaded replays were missed idle (the
# burst done before a kill, no request during a toxic) in 1 of 3 sequential runs of the corpus, and on a
# faster host two entries missed theirs in 3 runs of 3. Hence the idle replays; a gate entry also gets three
# runs to meet its goals; a failed checker in any of them is a failure.
REACH_ATTEMPTS = 3
STRESS_TIMEOUT_S = 3600  # bound on the stress-ng process of one admission, whatever happens to it


def _lost(r: ScenarioResult) -> str | None:
    """Why a replay counts against admission: a failed checker or a run the lab could not carry out (a missed
    goal alone does not: see `reliable_goals`)."""
    if r.status == "failed":
        return "failed (" + ", ".join(v.name for v in r.verdicts if not v.ok) + ")"
    if r.status == "runner_error":
        return f"lab error ({r.error})"
    return None


def reliable_goals(results: list[ScenarioResult]) -> tuple[list[Goal], list[str]]:
    """(the goals every replay met, in the scenario's order; "goal: met k/n" for the others). An explored
    schedule carries its faults' default goals; a late fault whose window some replays leave idle would make
    the gate vacuous by chance, so an entry claims only the goals its admission showed it meets."""
    goals = [g.goal for g in results[0].goals]
    met = [sum(1 for r in results for g in r.goals if g.goal == goal and g.met) for goal in goals]
    n = len(results)
    return ([goal for goal, k in zip(goals, met, strict=True) if k == n],
            [f"{goal.describe()}: met {k}/{n}" for goal, k in zip(goals, met, strict=True) if k < n])


def judge(entry: Entry, scenario: Scenario, results: list[ScenarioResult], replays: int, loaded: bool,
          run_dir: Path, idle: int = 0, idle_run_dir: Path | None = None) -> tuple[Scenario | None, str]:
    """Record the replays in `entry`; returns (the scenario to keep, with the goals every replay met and the
    reach events every replay reached as goals, or None when it is not admitted; one line). Admitted only if
    every replay ran and no checker failed."""
    bad = [why for r in results if (why := _lost(r))]
    missing = replays - len(results)
    if bad or missing:
        why = "; ".join(bad + ([f"{missing} not run"] if missing else []))
        passed = sum(1 for r in results if _lost(r) is None)
        return None, f"{entry.name}: NOT admitted, {passed}/{replays} passed: {why}"
    kept, dropped = reliable_goals(results)
    reliable = set.intersection(*(set(features(scenario.fault_kinds, r.reach)) for r in results))
    # What it was kept for, it must go on reaching: each reach event of every replay becomes a goal too, so
    # an engine change that stops it reaching them makes the entry vacuous instead of a silent pass.
    anywhere = {g.events for g in kept if g.during is None}
    reached = [(f.removeprefix("reach:"),) for f in sorted(reliable) if f.startswith("reach:")]
    kept += [Goal(events=events, why=REACHED) for events in reached if events not in anywhere]
    if not kept:
        return None, f"{entry.name}: NOT admitted, nothing reached in every replay ({'; '.join(dropped)})"
    entry.features = sorted(reliable | {f"found:{c}" for c in entry.found})
    entry.unreliable_goals = dropped
    mean = sum(r.duration_s for r in results) / len(results)
    entry.duration_s = round(mean, 3)
    entry.admitted = Admission(replays=replays, passed=replays, loaded=loaded, at=datetime.now(UTC),
                               mean_duration_s=round(mean, 3), run_dir=run_dir.name, idle=idle,
                               idle_run_dir=idle_run_dir.name if idle_run_dir else None)
    note = f"; goals dropped: {'; '.join(dropped)}" if dropped else ""
    how = (f" ({idle} idle, {replays - idle} under load)" if idle else " under load") if loaded else ""
    return (scenario.model_copy(update={"goals": tuple(kept), "reach_attempts": REACH_ATTEMPTS}),
            f"{entry.name}: admitted, {replays}/{replays} passed{how}{note}")


def _judged(done: list[tuple[Path, RunSummary]], sessions: int) -> bool:
    """Every session ran to its end: none interrupted, none stopped by the lab."""
    return len(done) == sessions and not any(s.interrupted or s.lab_error for _, s in done)


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

    def finished(run_dir: Path, summary: RunSummary) -> None:
        done.append((run_dir, summary))

    console.print(f"corpus {root}: {len(chosen)} entries x {args.replays} replays"
                  f"{' idle, then as many under stress-ng' if args.load else ''}")
    status = run_cases(args, cases, console, lab_factory, finished=finished)
    if args.load and _judged(done, 1):
        with Stress(os.cpu_count() or 2, STRESS_TIMEOUT_S):
            status = run_cases(args, cases, console, lab_factory, finished=finished)
    if not _judged(done, 2 if args.load else 1):
        return status  # nothing judged: the entries stay as they were
    run_dir = done[-1][0]
    idle_run_dir = done[0][0] if args.load else None
    admitted_all = True
    for e in chosen:
        results = [r for _, s in done for r in s.results if r.scenario == e.name]
        kept, line = judge(e, scenarios[e.name], results, len(done) * args.replays, args.load, run_dir,
                           idle=args.replays, idle_run_dir=idle_run_dir)
        if kept is not None:
            save(root, kept, header(e))
        else:
            e.admitted = None  # a re-admission that failed takes the entry out of the gate
        admitted_all &= kept is not None
        console.print(line, highlight=False, soft_wrap=True)
    write_index(root, index)
    return 0 if admitted_all else 1

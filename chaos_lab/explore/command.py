"""`chaos-lab explore --budget 10m --seed S [--faults KINDS] [--parallel N] [--check-determinism]`.

Exit status: 0 no violation (or determinism held), 1 a violation (shrunk, with the replay command printed) or
a lab error, 2 bad usage (one line), 130 interrupted (every lab instance is taken down).
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from chaos_lab.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LAB, EXIT_OK, EXIT_USAGE
from chaos_lab.explore.determinism import check_determinism
from chaos_lab.explore.explorer import Explorer, Settings, new_report
from chaos_lab.explore.kinds import explorable
from chaos_lab.explore.outcome import ExploreReport
from chaos_lab.faults.registry import FAULT_KINDS
from chaos_lab.lab.jobs import machine_jobs
from chaos_lab.reach.events import ENGINE_EVENTS
from chaos_lab.signals import interrupts_as_keyboard_interrupt

MAX_BUDGET_S = 24 * 3600


def parse_duration(text: str) -> float:
    """`10m`, `90s`, `1h`, `1h30m`, `45` (seconds)."""
    match = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s?)?\s*", text)
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"not a duration: {text!r} (e.g. 10m, 90s, 1h30m)")
    h, m, s = (int(g or 0) for g in match.groups())
    return float(3600 * h + 60 * m + s)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("explore", help="random fault schedules from a seed; shrink the first violation")
    p.add_argument("--budget", default="10m", help="wall-time budget, e.g. 10m, 90s (default 10m)")
    p.add_argument("--seed", type=int, default=1, help="seed of the schedules (>= 0)")
    p.add_argument("--faults", help="comma-separated fault kinds to draw from (default: every kind)")
    p.add_argument("--parallel", type=int, default=machine_jobs(),
                   help="lab instances (1-8; default: one per core, chaos_lab/lab/jobs.py)")
    p.add_argument("--max-schedules", type=int, default=1000, help="bound on the number of schedules")
    p.add_argument("--start-index", type=int, default=0, help="first schedule index")
    p.add_argument("--shrink-attempts", type=int, default=30, help="bound on shrinking runs")
    p.add_argument("--shrink-tries", type=int, default=2, help="runs of a candidate before it passes")
    p.add_argument("--replays", type=int, default=3, help="replays of the shrunk schedule (flakiness)")
    p.add_argument("--no-shrink", action="store_true", help="report the first violation without shrinking")
    p.add_argument("--keep-going", action="store_true", help="spend the whole budget (no shrinking)")
    p.add_argument("--check-determinism", action="store_true", help="run schedule (seed, --index) twice")
    p.add_argument("--index", type=int, default=0, help="the schedule --check-determinism runs")
    p.add_argument("--reports", type=Path, default=Path("reports"), help="reports directory")


def _usage(message: str) -> int:
    print(f"chaos-lab: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _settings(args: argparse.Namespace) -> Settings | str:
    try:
        budget = parse_duration(args.budget)
    except ValueError as exc:
        return f"--budget: {exc}"
    if not 0 < budget <= MAX_BUDGET_S:
        return f"--budget must be within 1s..24h, got {args.budget!r}"
    for flag, value, lo, hi in (
        ("--seed", args.seed, 0, 2**63),
        ("--parallel", args.parallel, 1, 8),
        ("--max-schedules", args.max_schedules, 1, 100_000),
        ("--start-index", args.start_index, 0, 2**31),
        ("--shrink-attempts", args.shrink_attempts, 0, 1000),
        ("--replays", args.replays, 0, 100),
        ("--shrink-tries", args.shrink_tries, 1, 10),
        ("--index", args.index, 0, 2**31),
    ):
        if not lo <= value <= hi:
            return f"{flag} must be {lo}..{hi}, got {value}"
    wanted = None
    if args.faults:
        wanted = [k.strip() for k in args.faults.split(",") if k.strip()]
        unknown = sorted(set(wanted) - FAULT_KINDS)
        if unknown:
            known = ", ".join(sorted(FAULT_KINDS))
            return f"--faults: unknown fault kind(s) {', '.join(unknown)} (kinds: {known})"
    kinds, _ = explorable(wanted)
    if not kinds:
        return f"--faults: the explorer has no parameter generator for {args.faults}"
    return Settings(
        seed=args.seed,
        budget_s=budget,
        kinds=kinds,
        max_schedules=args.max_schedules,
        start_index=args.start_index,
        shrink=not args.no_shrink and not args.keep_going,
        shrink_attempts=args.shrink_attempts,
        shrink_tries=args.shrink_tries,
        replays=args.replays,
        keep_going=args.keep_going,
    )


def cmd_explore(args: argparse.Namespace, console: Console, lab_factory: Any = None) -> int:
    settings = _settings(args)
    if isinstance(settings, str):
        return _usage(settings)
    from chaos_lab.lab.pool import LabPool

    _, unexplored = explorable()
    out = args.reports / f"explore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    out.mkdir(parents=True, exist_ok=False)
    report = new_report(settings, args.parallel, unexplored)
    pool = LabPool(args.parallel, lab_factory=lab_factory)

    def say(line: str) -> None:
        print(line, flush=True)

    say(
        f"chaos-lab explore seed={settings.seed} budget={settings.budget_s:.0f}s on {args.parallel} lab(s) "
        f"({', '.join(lab.project for lab in pool.labs)}); kinds: {', '.join(settings.kinds)}"
        + (f"; not explored (no parameter generator): {', '.join(unexplored)}" if unexplored else "")
    )
    explorer = Explorer(pool.labs, settings, out, report, say)
    t0 = time.monotonic()
    with interrupts_as_keyboard_interrupt():
        try:
            pool.up()
            explorer.t0 = time.monotonic()
            if args.check_determinism:
                det = check_determinism(explorer, args.index)
                say(
                    f"determinism of {det.schedule}: plan {'identical' if det.same_plan else 'DIFFERENT'} "
                    f"({det.plan_digests[0]}), verdicts {'identical' if det.same_verdicts else 'DIFFERENT'}"
                    + (f": {'; '.join(det.differences)}" if det.differences else "")
                )
            else:
                first = explorer.explore()
                if first is not None and settings.shrink:
                    explorer.shrink(first)
        except KeyboardInterrupt:
            report.interrupted = True
            say("interrupted: taking every lab instance down")
        except Exception as exc:
            report.lab_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            say(f"lab error {report.lab_error}")
        finally:
            explorer.stop()
            report.duration_s = round(time.monotonic() - t0, 3)
            _write(out, report)
            try:
                pool.down()
                explorer.join()
                pool.down()
            except Exception as exc:
                say(f"taking the labs down failed: {exc}")
                report.lab_error = report.lab_error or f"down: {exc}"
            _write(out, report)
    _summary(report, out, say)
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.determinism is not None:
        return EXIT_LAB if report.lab_error else EXIT_OK if report.determinism.same_plan else EXIT_FAILED
    return EXIT_FAILED if report.violations else EXIT_LAB if report.lab_error else EXIT_OK


def _write(out: Path, report: ExploreReport) -> None:
    (out / "explore.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")


def _summary(report: ExploreReport, out: Path, say: Any) -> None:
    say(
        f"{len(report.schedules)} schedules in {report.duration_s:.0f}s ({report.per_minute()}/min on "
        f"{report.parallel} lab(s)): {len(report.violations)} violating, {len(report.errors)} lab errors"
        + (f"; first violation after {report.first_violation_s:.0f}s" if report.first_violation_s else "")
    )
    if report.unexplored_kinds:
        say(f"fault kinds not explored (no parameter generator): {', '.join(report.unexplored_kinds)}")
    never = sorted(set(ENGINE_EVENTS) - set(report.reach_map))
    say(
        f"reach: {report.vacuous} vacuous schedules (a fault missed its goal); schedules per reach event "
        f"{report.reach_map or 'none'}; engine events never reached: {', '.join(never) or 'none'}"
    )
    sh = report.shrink
    if sh is not None:
        say(
            f"shrunk {sh.original_size} -> {sh.minimal_size} in {sh.attempts} attempts "
            f"(faults {sh.minimal_faults}); reproduced {sh.reproduced}/{sh.replays} replays"
        )
        say(f"replay: {sh.replay_command}")
    say(f"report: {out / 'explore.json'}")

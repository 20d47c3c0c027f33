"""The `chaos-lab selftest` subcommand (kept apart from cli.py: its own arguments and output)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from chaos_lab.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LAB, EXIT_OK, EXIT_USAGE
from chaos_lab.corpus.store import CorpusError, gate
from chaos_lab.lab.pool import MAX_INSTANCES, instance
from chaos_lab.scenarios.catalog import BY_NAME
from chaos_lab.selftest.mutants import MUTANTS_DIR, MutantError, load_mutants


def add_parser(sub: Any) -> None:
    p = sub.add_parser("selftest", help="score the lab: run engine mutants, write a detection matrix")
    p.add_argument("--mutants", type=Path, default=MUTANTS_DIR, help="folder of *.patch mutants")
    p.add_argument("--only", default="", help="comma-separated mutant names (file stems) to run")
    p.add_argument("--reports", type=Path, default=Path("reports"), help="reports directory")
    p.add_argument("--corpus", type=Path, default=Path("corpus"), metavar="DIR",
                   help="the corpus a held-out mutant also runs against (default: corpus, if it exists)")
    p.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help=f"spread the engine variants over N lab instances (1-{MAX_INSTANCES})",
    )


def _say(line: str) -> None:
    """One write per line: with --parallel two labs print at once, and print() writes the newline apart."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _lab(lab_class: Any, project: str, env: dict[str, str], tag: str) -> Any:
    """Lab instance `project` running the engine variant built as `tag`."""
    return lab_class(project=project, env={**env, "LAB_IMAGE_TAG": tag})


def run(args: argparse.Namespace) -> int:
    from chaos_lab.lab.docker import DockerLab, LabError
    from chaos_lab.selftest.campaign import run_selftest

    if not 1 <= args.parallel <= MAX_INSTANCES:
        print(
            f"chaos-lab: error: --parallel must be 1..{MAX_INSTANCES}, not {args.parallel}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not args.mutants.is_dir():
        print(f"chaos-lab: error: mutants folder {args.mutants} does not exist", file=sys.stderr)
        return EXIT_USAGE
    try:
        catalogue = {**BY_NAME, **{s.name: s for s in gate(args.corpus)}}
        mutants = load_mutants(args.mutants, set(catalogue))
    except (MutantError, CorpusError) as exc:
        print(f"chaos-lab: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in {m.name for m in mutants}]
        if unknown:
            print(f"chaos-lab: error: unknown mutant(s) {', '.join(unknown)}", file=sys.stderr)
            return EXIT_USAGE
        mutants = [m for m in mutants if m.name in wanted]
    base = os.environ.get("COMPOSE_PROJECT_NAME", "solat-lab")
    slots = [instance(base, os.environ, i, args.parallel) for i in range(1, args.parallel + 1)]
    out = args.reports / f"selftest-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    print(
        f"chaos-lab selftest: {len(mutants)} mutants + the unmutated engine on {args.parallel} lab(s), "
        f"report in {out}",
        flush=True,
    )
    try:
        summary = run_selftest(
            mutants,
            out,
            lab_factories=[partial(_lab, DockerLab, project, env) for project, env in slots],
            remove_images=lambda tag: DockerLab(project=base).remove_images(tag),
            say=_say,
            catalogue=catalogue,
        )
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except LabError as exc:
        print(f"chaos-lab: lab error: {exc}", file=sys.stderr)
        return EXIT_LAB
    print(
        f"mutation score {summary.score:.0%} ({summary.detected}/{summary.total}); held out "
        f"{summary.held_out_score:.0%} ({summary.held_out_detected}/{summary.held_out_total}); "
        f"wall {summary.wall_s:.0f}s; "
        f"false alarms: {len(summary.false_alarms)}; report {out / 'report.html'}"
    )
    return EXIT_OK if summary.ok else EXIT_FAILED

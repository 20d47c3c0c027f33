"""`chaos-lab selftest`: build the unmutated engine and each mutant into its own image tag, run each mutant's
scenarios against it (and all of them against the unmutated engine), and score how many mutants the
checkers flag. A false alarm on the unmutated engine fails the self-test whatever the score.

Bounded: variants run one after another, each scenario is the catalogue's bounded scenario, each build has a
timeout; every lab is taken down and every mutant image removed, on success, failure and Ctrl-C."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos_lab.scenarios.catalog import BY_NAME
from chaos_lab.selftest.build import ROOT, BuildError, build_variant, scratch_tree
from chaos_lab.selftest.matrix import Cell, Row, SelftestSummary, score, write
from chaos_lab.selftest.mutants import Mutant, MutantError, apply_mutant

Say = Callable[[str], None]
LabFactory = Callable[[str], Any]  # image tag -> a DockerLab-like context manager


def _tag(name: str) -> str:
    return "mut-" + name.split("-", 1)[0] if name != "clean" else "selftest-clean"


# A scenario that failed before its method (the lab reset, the steady-state probe) tested nothing: on a
# loaded host the steady state can flicker (the broker probe going stale). Such a run is repeated once; an
# engine that cannot reach its steady state twice is reported with the error (a detection for a mutant, an
# alarm if clean).
NOT_STARTED = ("reset:", "steady-state:")


def _run_variant(row: Row, tag: str, scenarios: list[str], lab_factory: LabFactory, say: Say) -> None:
    from chaos_lab.runner import Runner

    with lab_factory(tag) as lab:
        runner = Runner(lab)
        for name in scenarios:
            scenario = BY_NAME[name]
            result = runner.run(scenario, scenario.seeds[0]).result
            if result.error is not None and result.error.startswith(NOT_STARTED):
                say(f"  {row.name} x {name}: did not start ({result.error[:120]}), once more")
                result = runner.run(scenario, scenario.seeds[0]).result
            row.cells.append(Cell.of(result))
            cell = row.cells[-1]
            verdict = "pass" if cell.ok else f"flagged by {', '.join(cell.flagged_by) or cell.error}"
            say(f"  {row.name} x {name}: {verdict}")


def run_selftest(
    mutants: list[Mutant],
    out: Path,
    lab_factory: LabFactory,
    remove_images: Callable[[str], object],
    say: Say = print,
    work: Path | None = None,
) -> SelftestSummary:
    started, t0 = datetime.now(UTC), time.monotonic()
    work = work or ROOT / ".cache" / "selftest"
    work.mkdir(parents=True, exist_ok=True)
    all_scenarios = sorted({s for m in mutants for s in m.scenarios})
    summary = SelftestSummary(started=started, clean=Row(name="clean", fault_class="(unmutated)"))
    variants: list[tuple[Row, Mutant | None, list[str]]] = [(summary.clean, None, all_scenarios)]
    variants += [
        (Row(name=m.name, fault_class=m.fault_class, bug=m.bug, expect=m.expect), m, m.scenarios)
        for m in mutants
    ]
    summary.mutants = [row for row, m, _ in variants if m is not None]
    try:
        for row, mutant, scenarios in variants:
            t_row, tag = time.monotonic(), _tag(row.name)
            say(f"{row.name}: building solat-lab/engine:{tag}")
            try:
                engine = ROOT / "engine"
                if mutant is not None:
                    engine = apply_mutant(mutant, ROOT / "engine", work / row.name / "engine-src")
                tree = scratch_tree(engine, work / row.name / "tree")
                build_variant(tree, tag, work / f"{row.name}-build.log")
                _run_variant(row, tag, scenarios, lab_factory, say)
            except (MutantError, BuildError) as exc:
                row.build_error = str(exc)
                say(f"  {row.name}: {exc}")
            finally:
                remove_images(tag)
                shutil.rmtree(work / row.name, ignore_errors=True)
                row.wall_s = round(time.monotonic() - t_row, 1)
    finally:
        summary.wall_s = round(time.monotonic() - t0, 1)
        score(summary)
        write(summary, out)
    return summary

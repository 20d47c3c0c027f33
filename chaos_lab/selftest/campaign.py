"""`chaos-lab selftest`: build the unmutated engine and each mutant into its own image tag, run each mutant's
scenarios against it (and all of them against the unmutated engine), and score how many mutants the
checkers flag. A false alarm on the unmutated engine fails the self-test whatever the score.

Bounded: each lab instance runs its variants one after another, each scenario is the catalogue's bounded
scenario, each build has a timeout; every lab is taken down and every mutant image removed, on success,
failure and Ctrl-C."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos_lab.lab.pool import Work, Workers
from chaos_lab.scenarios.catalog import BY_NAME
from chaos_lab.scenarios.model import Scenario
from chaos_lab.selftest.build import ROOT, BuildError, build_variant
from chaos_lab.selftest.matrix import Cell, Row, SelftestSummary, score, write
from chaos_lab.selftest.mutants import Mutant, MutantError, apply_mutant
from chaos_lab.signals import interrupts_as_keyboard_interrupt, signals_deferred

Say = Callable[[str], None]
LabFactory = Callable[[str], Any]  # image tag -> a DockerLab-like context manager


def _tag(name: str) -> str:
    return "mut-" + name.split("-", 1)[0] if name != "clean" else "selftest-clean"




def _run_variant(row: Row, tag: str, scenarios: list[str], lab_factory: LabFactory, say: Say,
                 catalogue: Mapping[str, Scenario] = BY_NAME) -> None:
    from chaos_lab.experiment.runner import Runner

    with lab_factory(tag) as lab:
        runner = Runner(lab)
        for name in scenarios:
            scenario = catalogue[name]
            result = runner.run(scenario, scenario.seeds[0]).result
            # A run that failed before its method (the lab reset, the steady-state probe) tested nothing: on a
            # loaded host the steady state can flicker (the broker probe going stale). It is repeated once; an
            # engine that cannot reach its steady state twice is reported with the error (an alarm if clean).
            if result.runner_error is not None and result.runner_error.not_started:
                say(f"  {row.name} x {name}: did not start ({result.error[:120]}), once more")
                result = runner.run(scenario, scenario.seeds[0]).result
            row.cells.append(Cell.of(result))
            cell = row.cells[-1]
            verdict = "pass" if cell.ok else f"flagged by {', '.join(cell.flagged_by) or cell.error}"
            say(f"  {row.name} x {name}: {verdict}")


class _Slot:
    """One lab instance of the self-test: makes its variants' labs from `factory` and remembers the one in
    use, so that the main thread can take it down on Ctrl-C while the worker thread is mid-scenario."""

    def __init__(self, factory: LabFactory) -> None:
        self.factory = factory
        self.active: Any = None
        self.lock = threading.Lock()

    def lab(self, tag: str) -> Any:
        lab = self.factory(tag)
        with self.lock:
            self.active = lab
        return lab

    def down(self) -> None:
        with self.lock:
            lab = self.active
        if lab is not None:
            lab.down()


Variant = tuple[Row, Mutant | None, list[str]]


class _Images:
    """The variant images built so far: each removed after its variant, any left (an interrupt) at the end."""

    def __init__(self, remove: Callable[[str], object]) -> None:
        self._remove, self._tags, self._lock = remove, set[str](), threading.Lock()

    def built(self, tag: str) -> None:
        with self._lock:
            self._tags.add(tag)

    def remove(self, tag: str) -> None:
        self._remove(tag)
        with self._lock:
            self._tags.discard(tag)

    def remove_all(self) -> None:
        with self._lock:
            tags = sorted(self._tags)
        for tag in tags:
            self.remove(tag)


def _variant(item: Variant, slot: _Slot, work: Path, images: _Images, say: Say,
             catalogue: Mapping[str, Scenario]) -> Row:
    """Build one engine variant into its own tag, run its scenarios on a lab of `slot`, remove the images."""
    row, mutant, scenarios = item
    t_row, tag = time.monotonic(), _tag(row.name)
    say(f"{row.name}: building solat-lab/engine:{tag}")
    try:
        engine = ROOT / "engine"
        if mutant is not None:
            engine = apply_mutant(mutant, ROOT / "engine", work / row.name / "engine-src")
        images.built(tag)
        build_variant(engine, tag, work / f"{row.name}-build.log")
        _run_variant(row, tag, scenarios, slot.lab, say, catalogue=catalogue)
    except (MutantError, BuildError) as exc:
        row.build_error = str(exc)
        say(f"  {row.name}: {exc}")
    finally:
        images.remove(tag)
        shutil.rmtree(work / row.name, ignore_errors=True)
        row.wall_s = round(time.monotonic() - t_row, 1)
    return row


def run_selftest(
    mutants: list[Mutant],
    out: Path,
    lab_factories: list[LabFactory],
    remove_images: Callable[[str], object],
    say: Say = print,
    work: Path | None = None,
    catalogue: Mapping[str, Scenario] = BY_NAME,
) -> SelftestSummary:
    """One lab instance per factory (`--parallel N`: N Compose projects); the variants are spread over them,
    the unmutated engine first. `catalogue` resolves the mutants' scenario names (`chaos-lab selftest` adds
    the corpus's admitted entries: a held-out mutant runs against the whole gate). Builds share one cache
    and take turns (build.py's lock), so one instance builds while the others run scenarios."""
    started, t0 = datetime.now(UTC), time.monotonic()
    work = work or ROOT / ".cache" / "selftest"
    work.mkdir(parents=True, exist_ok=True)
    all_scenarios = sorted({s for m in mutants for s in m.scenarios})
    summary = SelftestSummary(started=started, clean=Row(name="clean", fault_class="(unmutated)"))
    variants: list[Variant] = [(summary.clean, None, all_scenarios)]
    variants += [
        (
            Row(name=m.name, fault_class=m.fault_class, bug=m.bug, expect=m.expect, held_out=m.held_out),
            m,
            m.scenarios,
        )
        for m in mutants
    ]
    summary.mutants = [row for row, m, _ in variants if m is not None]
    slots = [_Slot(factory) for factory in lab_factories]
    images = _Images(remove_images)
    workers: Workers[Variant, Row] = Workers(
        slots, Work.of(variants),
        lambda slot, _meter, item: _variant(item, slot, work, images, say, catalogue),
    )
    completed = False
    try:
        with interrupts_as_keyboard_interrupt():
            for row in workers.results():
                say(f"{row.name}: done in {row.wall_s:.0f}s")
                write(score(summary), out)
        completed = True
    except BaseException as exc:
        summary.lab_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise
    finally:
        workers.work.stop.set()
        if not completed:  # interrupted or a lab error: the labs in use may still be up
            with signals_deferred():
                for slot in slots:  # first: a worker mid-scenario fails fast once its lab is gone
                    slot.down()
                workers.join()
                for slot in slots:  # and whatever it touched on its way out
                    slot.down()
        images.remove_all()
        summary.wall_s = round(time.monotonic() - t0, 1)
        write(score(summary), out)
    return summary

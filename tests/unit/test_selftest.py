"""Self-test plumbing without Docker: every shipped mutant parses and applies to the engine source (and really
changes it), bad mutants are refused with one line, and the matrix/score logic counts what it should."""

from __future__ import annotations

import filecmp
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chaos_lab.models import ScenarioResult, Verdict
from chaos_lab.scenarios.catalog import BY_NAME
from chaos_lab.selftest.matrix import Cell, Row, SelftestSummary, score, write
from chaos_lab.selftest.mutants import (
    MUTANTS_DIR,
    Mutant,
    MutantError,
    apply_mutant,
    load_mutant,
    load_mutants,
)

ENGINE = Path(__file__).resolve().parents[2] / "engine"
CLASSES = {"disk", "process", "network", "files", "fsync", "clock", "resource", "broker ambiguity"}


def test_shipped_mutants_cover_every_fault_class_and_apply(tmp_path: Path) -> None:
    mutants = load_mutants(MUTANTS_DIR, set(BY_NAME))
    assert len(mutants) >= 12
    assert {m.fault_class for m in mutants} == CLASSES
    for m in mutants:
        assert m.bug and m.incident and m.invariant and m.scenarios
        dest = apply_mutant(m, ENGINE, tmp_path / m.name)
        diff = filecmp.dircmp(ENGINE / "solat_engine", dest / "solat_engine")
        changed = _changed(diff)
        assert changed, f"{m.name} changed nothing"


def _changed(d: filecmp.dircmp[str]) -> list[str]:
    out = [f for f in d.diff_files if f.endswith(".py")]
    for sub in d.subdirs.values():
        out += _changed(sub)
    return out


def test_mutant_with_a_bad_header_or_scenario_or_patch_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "99-bad.patch"
    bad.write_text("# bug: x\n# incident: y\n# invariant: z\n# class: disk\n--- a/x\n+++ b/x\n")
    with pytest.raises(MutantError, match="lacks scenarios"):
        load_mutant(bad)
    bad.write_text("# bug: x\n# incident: y\n# invariant: z\n# class: disk\n# scenarios: no-such\n")
    with pytest.raises(MutantError, match="unknown scenario"):
        load_mutant(bad, set(BY_NAME))
    bad.write_text(
        "# bug: x\n# incident: y\n# invariant: z\n# class: disk\n# scenarios: fsync-eio-once\n"
        "--- a/solat_engine/engine.py\n+++ b/solat_engine/engine.py\n@@ -1,1 +1,1 @@\n-no such line\n+x\n"
    )
    with pytest.raises(MutantError, match="does not apply"):
        apply_mutant(load_mutant(bad), ENGINE, tmp_path / "e")


def test_a_held_out_mutant_names_no_scenario_runs_the_whole_gate_and_is_scored_apart(tmp_path: Path) -> None:
    held = [m for m in load_mutants(MUTANTS_DIR, set(BY_NAME)) if m.held_out]
    assert len(held) >= 3 and all(sorted(m.scenarios) == sorted(BY_NAME) and not m.expect for m in held)
    head = "# bug: x\n# incident: y\n# invariant: z\n# class: disk\n"
    bad = tmp_path / "98-tuned.patch"
    for text in (
        head + "# held-out: yes\n# scenarios: fsync-eio-once\n",  # tuned to a scenario
        head + "# held-out: yes\n# scenarios: gate\n# expect: fsync_fatal\n",  # told what catches it
        head + "# scenarios: gate\n",  # the gate without saying held out
        head + "# held-out: maybe\n# scenarios: gate\n",
    ):
        bad.write_text(text)
        with pytest.raises(MutantError, match="held-out"):
            load_mutant(bad, set(BY_NAME))
    summary = _summary(
        Row(name="22-h", held_out=True, cells=[_cell("a"), _cell("b", "positions_match")]),
        Row(name="23-h", held_out=True, cells=[_cell("a"), _cell("b")]),
        Row(name="24-h", held_out=True, cells=[Cell(scenario="a", ok=False, error="reset: LabError: x")]),
    )
    score(summary)
    assert (summary.detected, summary.total) == (1, 2)
    assert (summary.held_out_detected, summary.held_out_total, summary.held_out_score) == (1, 3, 0.3333)
    write(summary, tmp_path)
    assert "held out\n33% (1/3)" in (tmp_path / "report.html").read_text()


def _cell(scenario: str, *flagged: str) -> Cell:
    return Cell(scenario=scenario, ok=not flagged, flagged_by=list(flagged))


def _summary(*more: Row) -> SelftestSummary:
    """A clean engine that passed scenarios a and b, a mutant flagged (01-x), one missed (02-y), `more`."""
    return SelftestSummary(
        started=datetime.now(UTC),
        clean=Row(name="clean", cells=[_cell("a"), _cell("b")]),
        mutants=[
            Row(name="01-x", cells=[_cell("a", "fsync_fatal")]),
            Row(name="02-y", cells=[_cell("b")]),
            *more,
        ],
    )


def test_score_counts_detected_mutants_and_a_false_alarm_fails(tmp_path: Path) -> None:
    summary = _summary(
        Row(name="03-z", cells=[_cell("a"), _cell("b", "health_truth", "no_lost_acks")]),
        Row(name="04-w", build_error="does not apply"),
        # The lab could not finish the run: no engine verdict, so not a detection.
        Row(name="05-v", cells=[Cell(scenario="a", ok=False, error="recover: WaitTimeout: timed out")]),
    )
    score(summary)
    assert (summary.detected, summary.total, summary.score, summary.ok) == (2, 5, 0.4, True)
    write(summary, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "40%" in page and "SURVIVED" in page and "health_truth, no_lost_acks" in page
    assert SelftestSummary.model_validate_json((tmp_path / "summary.json").read_text()).score == 0.4
    summary.clean.cells[1] = _cell("b", "no_lost_acks")
    score(summary)
    assert not summary.ok and summary.false_alarms == ["b: no_lost_acks"]


def _result(*failed: str) -> ScenarioResult:
    verdicts = [Verdict(name=n, ok=n not in failed, summary="") for n in ("no_lost_acks", "availability")]
    return ScenarioResult(
        scenario="s",
        tier=1,
        seed=1,
        ok=not failed,
        started=datetime.now(UTC),
        duration_s=1.0,
        wait_s=0.0,
        verdicts=verdicts,
    )


def test_a_timing_checker_alone_neither_detects_nor_alarms() -> None:
    timing = Cell.of(_result("availability"))
    assert timing.ok and timing.ignored == ["availability"] and timing.flagged_by == []
    real = Cell.of(_result("availability", "no_lost_acks"))
    assert not real.ok and real.flagged_by == ["no_lost_acks"]


class _FakeLab:
    def __enter__(self) -> _FakeLab:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def urls(self) -> dict[str, str]:
        return {"engine": "e", "broker": "b", "toxiproxy": "t"}


def test_a_run_that_never_started_is_repeated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from chaos_lab.experiment import runner as runner_module
    from chaos_lab.selftest import campaign as selftest_runner

    errors = ["steady-state: ScenarioError: steady state does not hold: engine_ready", None]
    calls: list[str] = []

    class _Run:
        def __init__(self, result: ScenarioResult) -> None:
            self.result = result

    class _Runner:
        def __init__(self, lab: object) -> None:
            pass

        def run(self, scenario: object, seed: int) -> _Run:
            error = errors.pop(0)
            calls.append(str(error))
            result = ScenarioResult(
                scenario="fsync-eio-once",
                tier=1,
                seed=seed,
                ok=error is None,
                started=datetime.now(UTC),
                duration_s=1.0,
                wait_s=0.0,
                error=error,
            )
            return _Run(result)

    monkeypatch.setattr(runner_module, "Runner", _Runner)
    row = Row(name="clean")
    selftest_runner._run_variant(row, "t", ["fsync-eio-once"], lambda tag: _FakeLab(), lambda line: None)
    assert len(calls) == 2 and row.cells[0].ok and row.cells[0].error is None


class _SlotLab:
    """Stands in for DockerLab in the runner's plumbing tests: records up/down, runs nothing."""

    def __init__(self, slot: int, tag: str, log: list[tuple[str, int, str]]) -> None:
        self.slot, self.tag, self.log = slot, tag, log

    def __enter__(self) -> _SlotLab:
        self.log.append(("up", self.slot, self.tag))
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def down(self) -> None:
        self.log.append(("down", self.slot, self.tag))


def _two_fake_labs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mutants: int, fail_on: str | None = None
) -> tuple[Callable[[], SelftestSummary], list[tuple[str, int, str]], list[str], list[Mutant]]:
    """A self-test of the first `mutants` shipped mutants over two fake labs: builds are no-ops, each scenario
    run records the lab and engine it ran on (or fails on `fail_on`). Returns (run, log, removed, mutants)."""
    from chaos_lab.selftest import campaign as runner

    log: list[tuple[str, int, str]] = []
    removed: list[str] = []
    chosen = load_mutants(MUTANTS_DIR, set(BY_NAME))[:mutants]

    def fake_run_variant(row: Row, tag: str, scenarios: list[str], lab_factory, say, catalogue=None) -> None:
        with lab_factory(tag) as lab:
            for name in scenarios:
                if row.name == fail_on:
                    raise RuntimeError("docker went away")
                row.cells.append(_cell(name) if row.name == "clean" else _cell(name, "fsync_fatal"))
                lab.log.append(("ran", lab.slot, row.name))

    monkeypatch.setattr(runner, "build_variant", lambda tree, tag, log: None)
    monkeypatch.setattr(runner, "_run_variant", fake_run_variant)

    def run() -> SelftestSummary:
        return runner.run_selftest(
            chosen,
            tmp_path / "out",
            lab_factories=[lambda tag, i=i: _SlotLab(i, tag, log) for i in (1, 2)],
            remove_images=removed.append,
            say=lambda line: None,
            work=tmp_path / "work",
        )

    return run, log, removed, chosen


def test_selftest_spreads_the_variants_over_every_lab_and_removes_every_image(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run, log, removed, mutants = _two_fake_labs(monkeypatch, tmp_path, 5)
    summary = run()
    ran = [(slot, name) for what, slot, name in log if what == "ran"]
    assert {slot for slot, _ in ran} == {1, 2}  # both labs worked
    assert {name for _, name in ran} == {"clean", *(m.name for m in mutants)}
    assert [r.name for r in summary.mutants] == [m.name for m in mutants]  # the report keeps the order
    assert (summary.detected, summary.total, summary.ok) == (5, 5, True)
    assert sorted(removed) == sorted({"selftest-clean", *("mut-" + m.name[:2] for m in mutants)})
    ups = [(s, t) for what, s, t in log if what == "up"]
    downs = [(s, t) for what, s, t in log if what == "down"]
    assert sorted(ups) == sorted(downs)  # every lab brought up was taken down once, none twice


def test_a_lab_error_on_one_instance_takes_every_lab_down_and_removes_the_images(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run, log, removed, _ = _two_fake_labs(monkeypatch, tmp_path, 4, fail_on="02-fsync-retry-and-forget")
    with pytest.raises(RuntimeError, match="docker went away"):
        run()
    assert "mut-02" in removed
    ups = {(s, t) for what, s, t in log if what == "up"}
    downs = {(s, t) for what, s, t in log if what == "down"}
    assert ups <= downs
    saved = SelftestSummary.model_validate_json((tmp_path / "out" / "summary.json").read_text())
    assert saved.lab_error == "RuntimeError: docker went away" and not saved.ok


def test_every_planted_explore_bug_still_applies() -> None:
    """The explorer's planted bugs (bench/mutants.py) are text patches: each old text must still occur exactly
    once in the engine, or the explore proof would test a build that never carried the bug."""
    from bench.mutants import ENGINE_SRC
    from bench.mutants import MUTANTS as PLANTED

    for mutant in PLANTED:
        for rel, old, _ in mutant.patches:
            assert (ENGINE_SRC / rel).read_text().count(old) == 1, f"{mutant.name}: {rel}: {old!r}"

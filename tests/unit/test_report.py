"""Reports: junit has one testcase per scenario/checker, the HTML timeline shades fault windows and marks
every operation by outcome, and `report` re-renders from the saved files alone."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from chaos_lab.checkers import run_checkers
from chaos_lab.models import CheckerSpec, RunSummary, ScenarioResult
from chaos_lab.report.write import append_history, junit_xml, read_summary, write_reports
from chaos_lab.synthetic import ObservationBuilder
from chaos_lab.workload.history import fault_windows

SVG = "{http://www.w3.org/2000/svg}"


def _result(name: str, seed: int, violate: bool) -> tuple[ScenarioResult, ObservationBuilder]:
    b = ObservationBuilder(name, seed)
    b.history.phase = "method"
    b.signal()
    b.probe()
    b.inject("disk-full", "disk_fill", {"written_bytes": 1000, "free_bytes_after": 0})
    b.signal(outcome="fail", status=507, ledger=False, broker=False)
    b.signal(outcome="info", status=202)
    b.probe(status="degraded")
    b.heal("disk-full")
    b.recovered()
    if violate:
        b.signal(ledger=False)  # an acknowledged signal the ledger lost
    obs = b.build()
    specs = [
        CheckerSpec(name="no_lost_acks"),
        CheckerSpec(name="fail_closed"),
        CheckerSpec(name="availability"),
    ]
    verdicts = run_checkers(specs, obs)
    return ScenarioResult(
        scenario=name,
        tier=1,
        seed=seed,
        ok=all(v.ok for v in verdicts),
        started=datetime.now(UTC),
        duration_s=1.5,
        wait_s=0.5,
        faults=fault_windows(obs.history),
        verdicts=verdicts,
        ops=len(obs.history),
    ), b


def _run_dir(tmp_path: Path) -> tuple[Path, RunSummary]:
    good, b1 = _result("disk-full-during-burst", 1, violate=False)
    bad, b2 = _result("disk-full-during-burst", 2, violate=True)
    summary = RunSummary(
        run_id="r1", started=datetime.now(UTC), duration_s=3.0, wait_s=1.0, ok=False, results=[good, bad]
    )
    run_dir = tmp_path / "r1"
    run_dir.mkdir()
    append_history(run_dir, b1.history.ops)
    append_history(run_dir, b2.history.ops)
    write_reports(run_dir, summary)
    return run_dir, summary


def test_junit_one_case_per_checker_and_failures_named(tmp_path: Path) -> None:
    run_dir, summary = _run_dir(tmp_path)
    root = ET.parse(run_dir / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 6
    failed = [(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None]
    assert failed == [("disk-full-during-burst[seed=2]", "no_lost_acks")]
    assert root.find("testsuite").get("failures") == "1"
    assert summary.results[1].ok is False


def test_html_timeline_shades_faults_and_marks_outcomes(tmp_path: Path) -> None:
    run_dir, _ = _run_dir(tmp_path)
    html = (run_dir / "report.html").read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    svgs = [html[i : html.index("</svg>", i) + 6] for i in range(len(html)) if html.startswith("<svg", i)]
    assert len(svgs) == 2
    for svg in svgs:
        root = ET.fromstring(svg)
        faults = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "fault"]
        assert [f.get("data-kind") for f in faults] == ["disk_fill"]
        assert float(faults[0].get("width")) > 0
        ok = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "op ok"]
        fail = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "op fail"]
        info = [p for p in root.iter(f"{SVG}path") if p.get("class") == "op info"]
        assert len(fail) == 1 and len(info) == 1 and len(ok) >= 1
        assert len([r for r in root.iter(f"{SVG}rect") if (r.get("class") or "").startswith("probe")]) == 2
    assert "FAIL" in html and "no_lost_acks" in html


def test_report_rerenders_from_saved_files(tmp_path: Path) -> None:
    run_dir, summary = _run_dir(tmp_path)
    (run_dir / "report.html").unlink()
    (run_dir / "junit.xml").unlink()
    assert read_summary(run_dir).model_dump(mode="json") == summary.model_dump(mode="json")
    write_reports(run_dir, read_summary(run_dir))
    assert (run_dir / "report.html").stat().st_size > 1000
    assert junit_xml(summary) == (run_dir / "junit.xml").read_text()


LAB_FAILURE = (
    "rollback: ConnectionError: ('Connection aborted.', "
    "RemoteDisconnected('Remote end closed connection without response'))"
)


def _with_runner_error(tmp_path: Path) -> tuple[Path, RunSummary]:
    """Seed 1 passed, seed 2 broke an invariant, seed 3 could not be run by the lab (its verdicts, judged on
    the partial run, failed too: they must not count against the engine)."""
    good, b1 = _result("disk-full-during-burst", 1, violate=False)
    bad, b2 = _result("disk-full-during-burst", 2, violate=True)
    stuck, b3 = _result("disk-full-during-burst", 3, violate=True)
    stuck = stuck.model_copy(update={"error": LAB_FAILURE, "ok": False, "seed": 3})
    stuck = ScenarioResult.model_validate(stuck.model_dump())
    summary = RunSummary(
        run_id="r2",
        started=datetime.now(UTC),
        duration_s=3.0,
        wait_s=1.0,
        ok=False,
        results=[good, bad, stuck],
    )
    run_dir = tmp_path / "r2"
    run_dir.mkdir()
    for b in (b1, b2, b3):
        append_history(run_dir, b.history.ops)
    write_reports(run_dir, summary)
    return run_dir, summary


def test_runner_error_is_told_apart_from_failed_verdicts(tmp_path: Path) -> None:
    run_dir, summary = _with_runner_error(tmp_path)
    stuck = summary.results[2]
    assert [r.status for r in summary.results] == ["passed", "failed", "runner_error"]
    assert stuck.runner_error is not None
    assert (stuck.runner_error.phase, stuck.runner_error.cause) == ("rollback", "ConnectionError")
    assert "RemoteDisconnected" in stuck.runner_error.message
    assert (summary.failed_verdicts, summary.runner_errors) == (1, 1)
    saved = (run_dir / "summary.json").read_text()
    assert '"runner_errors": 1' in saved and '"failed_verdicts": 1' in saved
    assert '"status": "runner_error"' in saved
    assert read_summary(run_dir).results[2].runner_error == stuck.runner_error

    suite = ET.parse(run_dir / "junit.xml").getroot().find("testsuite")
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "1", "3")
    errors = [c for c in suite.iter("testcase") if c.find("error") is not None]
    assert [(c.get("classname"), c.get("name")) for c in errors] == [
        ("disk-full-during-burst[seed=3]", "run")
    ]
    assert errors[0].find("error").get("type") == "ConnectionError"
    failed = [c.get("classname") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["disk-full-during-burst[seed=2]"]

    html = (run_dir / "report.html").read_text()
    assert "LAB ERROR" in html and "could not run the rollback phase (ConnectionError)" in html
    assert "1 scenario run(s) with a failed verdict" in html and "1 the lab could not run" in html


def test_runner_error_parsed_from_a_summary_written_before_it_existed(tmp_path: Path) -> None:
    import json

    run_dir, _ = _with_runner_error(tmp_path)

    raw = json.loads((run_dir / "summary.json").read_text())
    for r in raw["results"]:
        r.pop("runner_error"), r.pop("status")
    old = RunSummary.model_validate(raw)
    assert [r.status for r in old.results] == ["passed", "failed", "runner_error"]


def test_every_link_of_the_html_is_a_file_of_the_run_directory(tmp_path: Path) -> None:
    """Each scenario run links its engine, broker and toxiproxy logs (where write_logs put them, relative to
    report.html) and history.jsonl; no link may point at nothing."""
    import re

    from chaos_lab.report.write import write_logs

    run_dir, summary = _run_dir(tmp_path)
    for r in summary.results:
        write_logs(run_dir, r, {s: f"{s} log\n" for s in ("datavol", "broker", "toxiproxy", "engine")})
    write_reports(run_dir, summary)
    html = (run_dir / "report.html").read_text()
    links = [h for h in re.findall(r"href='([^']*)'", html) if not h.startswith("#")]
    assert "logs/disk-full-during-burst-seed2-engine.log" in links
    assert "logs/disk-full-during-burst-seed2-broker.log" in links
    assert "logs/disk-full-during-burst-seed1-toxiproxy.log" in links
    assert all((run_dir / link).is_file() for link in links), links


def test_every_effect_has_one_family_and_the_legend_names_it(tmp_path: Path) -> None:
    """The legend used to say "yellow file" while fsync, clock, CPU, OOM and broker faults were shaded yellow
    too (everything not listed fell back to the file colour). Families are by effect: every fault kind gets
    a family's colour from what it does."""
    from chaos_lab.effects import Effect
    from chaos_lab.faults.registry import FAULTS
    from chaos_lab.models import FaultWindow
    from chaos_lab.report.timeline import FAULT_FAMILIES, OTHER_FILL, fill_of

    effects = [effect for _, _, family in FAULT_FAMILIES for effect in family]
    assert sorted(effects) == sorted(Effect)  # each exactly once
    assert len({colour for _, colour, _ in FAULT_FAMILIES}) == len(FAULT_FAMILIES)
    for kind, cls in FAULTS.items():
        assert fill_of(FaultWindow(name=kind, kind=kind, start=0, end=1, effects=cls.effects)) != OTHER_FILL
    run_dir, summary = _run_dir(tmp_path)
    write_reports(run_dir, summary)
    html = (run_dir / "report.html").read_text()
    assert all(f"{name}: {', '.join(family)}" in html for name, _, family in FAULT_FAMILIES)

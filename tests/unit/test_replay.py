"""`chaos-lab replay RUN_DIR`: every run (one lab or `--parallel`) saves the exact scenario of each run and
its seed; replay re-runs the runs that did not pass from those files and says whether each failed the same
way. Only the fake lab of test_cli.py is used: building a real DockerLab fails the test."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaos_lab.cli import main as cli
from chaos_lab.cli.replay import Outcome, ReplayRecord
from chaos_lab.cli.replay import cmd_replay as replay_cmd
from chaos_lab.experiment.runner import Runner, ScenarioRun
from chaos_lab.models import GoalResult, ScenarioResult, Verdict
from chaos_lab.report.write import read_summary, write_summary
from chaos_lab.scenarios.catalog import BY_NAME
from chaos_lab.scenarios.file_format import dump_scenario, load_scenario
from tests.unit.test_cli import FakeLab


@pytest.fixture(autouse=True)
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test must never reach Docker (another lab may be running on this machine)."""

    def refuse(*_: Any, **__: Any) -> Any:
        pytest.fail("a real DockerLab was built in a unit test")

    monkeypatch.setattr("chaos_lab.lab.docker.DockerLab", refuse)


def _replay(argv: list[str]) -> int:
    """`chaos-lab replay ...` as main() parses it, on the fake lab."""
    args = cli._parser().parse_args(["replay", *argv])
    return replay_cmd(args, cli.Console(), lab_factory=FakeLab)


def _run_args(reports: Path, **kw: Any) -> SimpleNamespace:
    base: dict[str, Any] = dict(tier=None, scenario="broker-timeout", seed=3, keep_up=False, reports=reports)
    return SimpleNamespace(**{**base, **kw})


def _replay_args(run_dir: Path, **kw: Any) -> SimpleNamespace:
    base: dict[str, Any] = dict(
        run_dir=run_dir, scenario=None, seed=None, parallel=1, keep_up=False, reports=None
    )
    return SimpleNamespace(**{**base, **kw})


def _one_run(reports: Path, **kw: Any) -> Path:
    """A run on the fake lab (every scenario run a runner error, exit 3) and its run directory."""
    assert cli.cmd_run(_run_args(reports, **kw), cli.Console(quiet=True), lab_factory=FakeLab) == 3
    [run_dir] = [p for p in reports.iterdir() if p.is_dir()]
    return run_dir


def test_run_saves_the_exact_scenario_and_its_seed(tmp_path: Path) -> None:
    run_dir = _one_run(tmp_path)
    [r] = read_summary(run_dir).results
    assert r.scenario_file == "scenarios/broker-timeout.yaml" and r.seed == 3 and r.source_file is None
    assert (run_dir / r.scenario_file).read_text() == dump_scenario(BY_NAME["broker-timeout"])
    assert r.replay == f"chaos-lab replay {run_dir} --scenario broker-timeout --seed 3"


def test_run_file_records_the_original_file(tmp_path: Path) -> None:
    incident = tmp_path / "incident.yaml"
    incident.write_text(dump_scenario(BY_NAME["broker-timeout"]).replace("broker-timeout", "my-incident"))
    run_dir = _one_run(tmp_path / "reports", scenario=None, file=incident, seed=5)
    [r] = read_summary(run_dir).results
    assert r.source_file == str(incident) and r.scenario_file == "scenarios/my-incident.yaml"
    assert load_scenario(run_dir / r.scenario_file) == load_scenario(incident)


def test_parallel_run_saves_the_files_too(tmp_path: Path) -> None:
    def lab(project: str, env: dict[str, str]) -> FakeLab:
        made = FakeLab()
        made.__dict__["project"] = project
        return made

    args = _run_args(tmp_path, scenario="sigkill-mid-burst", seed=None, parallel=2)
    assert cli.cmd_run(args, cli.Console(quiet=True), lab_factory=lab) == 3
    [run_dir] = list(tmp_path.iterdir())
    results = read_summary(run_dir).results
    assert [r.seed for r in results] == list(BY_NAME["sigkill-mid-burst"].seeds)
    assert {r.scenario_file for r in results} == {"scenarios/sigkill-mid-burst.yaml"}
    assert (run_dir / "scenarios" / "sigkill-mid-burst.yaml").is_file()
    assert all(r.replay and r.replay.startswith(f"chaos-lab replay {run_dir} ") for r in results)


def test_replay_reruns_a_lab_error_and_says_it_failed_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _one_run(tmp_path)
    capsys.readouterr()
    assert _replay([str(run_dir)]) == 3  # exit status as `run`: the lab could not run it
    out = capsys.readouterr().out
    assert "SAME    broker-timeout seed=3: the lab could not run it the same way" in out
    [new_dir] = [p for p in tmp_path.iterdir() if p != run_dir]
    summary = read_summary(new_dir)
    assert summary.replay_of == str(run_dir) and summary.results[0].seed == 3
    record = ReplayRecord.model_validate_json((new_dir / "replay.json").read_text())
    assert [c.same for c in record.checks] == [True]


def _doctor(run_dir: Path, **fields: Any) -> None:
    """Rewrite the saved result as if the run had come to another outcome."""
    summary = read_summary(run_dir)
    summary.results[0] = summary.results[0].model_copy(update=fields)
    write_summary(run_dir, summary)


def _result(scenario: Any, seed: int, verdicts: list[Verdict], goals: list[GoalResult] | None = None) -> Any:
    return ScenarioRun(
        result=ScenarioResult(
            scenario=scenario.name, tier=scenario.tier, seed=seed, started=datetime.now(UTC),
            ok=all(v.ok for v in verdicts) and all(g.met for g in goals or []),
            duration_s=0.1, wait_s=0.0, verdicts=verdicts, goals=goals or [],
        ),
        history=[],
    )


def test_replay_tells_the_same_failure_from_another_and_runs_the_saved_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _one_run(tmp_path)
    failed = [Verdict(name="no_lost_acks", ok=False, summary="lost"), Verdict(name="c", ok=True, summary="")]
    _doctor(run_dir, error=None, runner_error=None, verdicts=failed)
    saved = run_dir / "scenarios" / "broker-timeout.yaml"
    saved.write_text(saved.read_text().replace("count: 32,", "count: 7,", 1))
    ran: list[tuple[Any, int]] = []
    verdicts = [failed]

    def run(self: Runner, scenario: Any, seed: int) -> ScenarioRun:
        ran.append((scenario, seed))
        return _result(scenario, seed, verdicts[0])

    monkeypatch.setattr(Runner, "run", run)
    capsys.readouterr()
    assert _replay([str(run_dir)]) == 1
    assert "SAME    broker-timeout seed=3: failed the same way: failed (checkers: no_lost_acks)" in (
        capsys.readouterr().out
    )
    (scenario, seed), = ran
    assert seed == 3 and scenario.method[0].count == 7  # the saved file, not today's catalogue

    verdicts[0] = [Verdict(name="no_duplicates", ok=False, summary="doubled")]
    assert _replay([str(run_dir), "--reports", str(tmp_path / "again")]) == 1
    assert (
        "CHANGED broker-timeout seed=3: was failed (checkers: no_lost_acks), now failed (checkers: "
        "no_duplicates)" in capsys.readouterr().out
    )
    [new_dir] = list((tmp_path / "again").iterdir())
    record = json.loads((new_dir / "replay.json").read_text())
    assert record["replay_of"] == str(run_dir) and record["checks"][0]["after"]["status"] == "failed"


def test_outcome_same_way() -> None:
    def outcome(**kw: Any) -> Outcome:
        return Outcome(**kw)

    assert outcome(status="failed", failed_checkers=["a"]).same_as(
        outcome(status="failed", failed_checkers=["a"], missed_goals=["g"])
    )
    assert not outcome(status="failed", failed_checkers=["a"]).same_as(
        outcome(status="failed", failed_checkers=["a", "b"])
    )
    assert outcome(status="vacuous", missed_goals=["g"], failed_checkers=[]).same_as(
        outcome(status="vacuous", missed_goals=["g"])
    )
    assert not outcome(status="vacuous", missed_goals=["g"]).same_as(
        outcome(status="vacuous", missed_goals=["h"])
    )
    assert not outcome(status="vacuous", missed_goals=["g"]).same_as(outcome(status="passed"))
    assert not outcome(status="runner_error", lab_error="method (WaitTimeout)").same_as(
        outcome(status="runner_error", lab_error="reset (ConnectionError)")
    )


def test_only_runs_that_did_not_pass_unless_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _one_run(tmp_path)
    passed = [Verdict(name="c", ok=True, summary="")]
    _doctor(run_dir, error=None, runner_error=None, verdicts=passed, goals=[])
    capsys.readouterr()
    assert _replay([str(run_dir)]) == 0
    assert "nothing to replay" in capsys.readouterr().out
    monkeypatch.setattr(Runner, "run", lambda self, s, seed: _result(s, seed, passed))
    assert _replay([str(run_dir), "--scenario", "broker-timeout", "--seed", "3"]) == 0
    assert "SAME    broker-timeout seed=3: passed again" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--scenario", "no-such"], "no run of scenario 'no-such' (it ran: broker-timeout)"),
        (["--seed", "9"], "no run with seed 9 (seeds: 3)"),
    ],
)
def test_a_bad_selection_is_one_line_and_exit_2(
    tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _one_run(tmp_path)
    capsys.readouterr()
    assert _replay([str(run_dir), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_replay_of_a_missing_run_dir_or_a_run_without_files_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _replay([str(tmp_path / "nope")]) == 2
    assert "no summary.json" in capsys.readouterr().err
    run_dir = _one_run(tmp_path)
    _doctor(run_dir, scenario_file=None)
    capsys.readouterr()
    assert _replay([str(run_dir)]) == 2
    assert "no saved scenario file" in capsys.readouterr().err

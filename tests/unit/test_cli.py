"""CLI: usage errors exit 2 with one line, a failed checker exits 1, Ctrl-C still takes the lab down."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from chaos_lab.cli import main as cli
from chaos_lab.cli.session import exit_status
from chaos_lab.scenarios.catalog import SCENARIOS


def test_list_to_a_pipe_is_tab_separated_and_cuts_no_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0  # captured: stdout is not a terminal
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split("\t") == ["tier", "scenario", "faults", "checkers", "seeds", "description"]
    rows = [line.split("\t") for line in lines]
    assert all(len(row) == 6 for row in rows)
    gate = cli.choose(None, None, Path("corpus"))  # the catalogue, then the repository's admitted corpus
    assert [s.name for s in gate[: len(SCENARIOS)]] == [s.name for s in SCENARIOS]
    assert {s.tier for s in gate[len(SCENARIOS):]} == {5}
    assert [row[1] for row in rows] == [s.name for s in gate]
    assert [row[4] for row in rows] == [",".join(map(str, s.seeds)) for s in gate]


def test_list_json_and_tier(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert cli.main(["list", "--format", "json", "--tier", "4"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [s.name for s in SCENARIOS if s.tier == 4]
    assert rows and all(r["tier"] == 4 and r["checkers"] and r["seeds"] for r in rows)
    assert cli.main(["list", "--tier", "9"]) == 2
    assert "unknown tier 9" in capsys.readouterr().err


def test_list_table_on_a_narrow_terminal_keeps_every_name(capsys: pytest.CaptureFixture[str]) -> None:
    from argparse import Namespace

    console = cli.Console(width=60, force_terminal=False)
    assert cli.cmd_list(Namespace(tier=None, format="table"), console) == 0
    out = capsys.readouterr().out
    assert all(s.name in out for s in SCENARIOS)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "--scenario", "no-such-thing"], "unknown scenario 'no-such-thing'"),
        (["run", "--tier", "9"], "unknown tier 9"),
        (["run", "--tier", "3", "--scenario", "torn-ledger-tail"], "not in tier 3"),
        (["run", "--data-from", "/nope"], "--data-from starts a scenario from captured data: give --file"),
        (["run", "--tier", "1", "--data-from", "/nope"], "give --file or --scenario"),
        (["run", "--scenario", "sigkill-mid-burst", "--data-from", "/nope"], "/nope: no such directory"),
        (["run", "--scenario", "sigkill-mid-burst", "--data-from", "/etc"], "the engine writes"),
    ],
)
def test_unknown_scenario_or_tier_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_argparse_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--tier", "abc"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["explode"])
    assert exc.value.code == 2


def test_report_of_a_missing_run_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    assert "no summary.json" in capsys.readouterr().err


class FakeLab:
    """No Docker: every service is unreachable, so the scenario cannot run and must be reported as failed."""

    instances: ClassVar[list[FakeLab]] = []

    def __init__(self, up_raises: type[BaseException] | None = None) -> None:
        self.up_raises, self.calls = up_raises, []
        FakeLab.instances.append(self)

    def up(self, timeout: float = 60) -> None:
        self.calls.append("up")
        if self.up_raises:
            raise self.up_raises

    def down(self) -> None:
        self.calls.append("down")

    def urls(self) -> dict[str, str]:
        return {
            "engine": "http://127.0.0.1:9",
            "broker": "http://127.0.0.1:9",
            "toxiproxy": "http://127.0.0.1:9",
        }

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: object, **kwargs: object) -> Any:
            raise RuntimeError(f"{name}: lab unavailable")

        return refuse


def _args(tmp_path: Path, **kw: Any) -> SimpleNamespace:
    return SimpleNamespace(
        tier=None, scenario="broker-timeout", seed=3, keep_up=False, reports=tmp_path, **kw
    )


def test_a_scenario_that_cannot_run_exits_3_and_the_lab_goes_down(tmp_path: Path) -> None:
    """The lab could not run a step: exit 3 and a runner error with its cause, not a failed verdict."""
    FakeLab.instances.clear()
    code = cli.cmd_run(_args(tmp_path), cli.Console(quiet=True), lab_factory=FakeLab)
    assert code == 3
    assert FakeLab.instances[0].calls == ["up", "down"]
    [run_dir] = list(tmp_path.iterdir())
    summary = cli.read_summary(run_dir)
    assert not summary.ok and summary.results[0].error and summary.results[0].seed == 3
    assert summary.results[0].status == "runner_error" and summary.runner_errors == 1
    error = summary.results[0].runner_error
    assert summary.failed_verdicts == 0 and error is not None
    assert (error.phase, error.cause, error.message) == ("reset", "RuntimeError", "clear: lab unavailable")
    assert (run_dir / "junit.xml").exists() and (run_dir / "report.html").exists()
    assert cli.main(["report", str(run_dir)]) == 3


def test_ctrl_c_exits_130_and_takes_the_lab_down(tmp_path: Path) -> None:
    FakeLab.instances.clear()
    code = cli.cmd_run(
        _args(tmp_path), cli.Console(quiet=True), lab_factory=lambda: FakeLab(up_raises=KeyboardInterrupt)
    )
    assert code == 130
    assert FakeLab.instances[0].calls == ["up", "down"]
    [run_dir] = list(tmp_path.iterdir())
    assert cli.read_summary(run_dir).interrupted


def test_keep_up_leaves_the_lab(tmp_path: Path) -> None:
    FakeLab.instances.clear()
    args = _args(tmp_path)
    args.keep_up = True
    cli.cmd_run(args, cli.Console(quiet=True), lab_factory=FakeLab)
    assert FakeLab.instances[0].calls == ["up"]


def test_a_lab_that_fails_to_come_up_is_one_line_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    FakeLab.instances.clear()
    code = cli.cmd_run(_args(tmp_path), cli.Console(), lab_factory=lambda: FakeLab(up_raises=RuntimeError))
    assert code == 3
    assert FakeLab.instances[0].calls == ["up", "down"]
    assert "lab error" in capsys.readouterr().out
    [run_dir] = list(tmp_path.iterdir())
    assert cli.read_summary(run_dir).lab_error == "RuntimeError: "


def _summary(*statuses: str) -> Any:
    from datetime import UTC, datetime

    from chaos_lab.models import RunSummary, ScenarioResult, Verdict

    results = [
        ScenarioResult(
            scenario="s", tier=1, seed=i, ok=st == "passed", started=datetime.now(UTC), duration_s=1.0,
            wait_s=0.0, verdicts=[Verdict(name="c", ok=st != "failed", summary="x")],
            error="method: WaitTimeout: timed out" if st == "runner_error" else None,
        )
        for i, st in enumerate(statuses)
    ]
    return RunSummary(run_id="r", started=datetime.now(UTC), duration_s=1.0, wait_s=0.0,
                      ok=all(st == "passed" for st in statuses), results=results)


@pytest.mark.parametrize(
    "statuses,code",
    [(("passed",), 0), (("passed", "failed"), 1), (("passed", "runner_error"), 3),
     (("failed", "runner_error"), 1)],
)
def test_exit_status_tells_a_failed_verdict_from_a_lab_that_could_not_run(
    statuses: tuple[str, ...], code: int
) -> None:
    assert exit_status(_summary(*statuses)) == code


def test_reports_path_that_is_a_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to be a traceback (FileExistsError/NotADirectoryError) and exit 1."""
    a_file = tmp_path / "reports.txt"
    a_file.write_text("not a directory")
    assert cli.main(["run", "--scenario", "broker-timeout", "--reports", str(a_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(a_file) in err and "not a directory" in err
    assert a_file.read_text() == "not a directory"


def test_reports_path_under_a_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "reports.txt"
    a_file.write_text("")
    assert cli.main(["run", "--scenario", "broker-timeout", "--reports", str(a_file / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot create" in err


@pytest.mark.parametrize(
    "seed,message", [("-1", "invalid seed -1"), ("abc", "invalid seed 'abc'"), ("1.5", "invalid seed '1.5'")]
)
def test_bad_seed_is_one_line_and_exit_2(
    seed: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--seed -1` used to run seed 1's plan labelled -1; a non-integer printed argparse's usage block."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--scenario", "broker-timeout", "--seed", seed])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "usage" not in err


def test_one_exit_table_in_help_readme_and_docs(capsys: pytest.CaptureFixture[str]) -> None:
    """The numbers come from chaos_lab/cli/exits.py; the help epilog, README and docs/chaos-lab.md carry
    them."""
    from chaos_lab.cli import exits, session
    from chaos_lab.crashstates import command as crashstates_cli
    from chaos_lab.explore import command as explore_cli
    from chaos_lab.selftest import command as selftest_command

    root = Path(__file__).resolve().parents[2]
    table = exits.markdown_table()
    assert table in (root / "README.md").read_text() and table in (root / "docs" / "chaos-lab.md").read_text()
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(f"  {code:<4} {text}" in out for code, text in exits.EXIT_TABLE)
    for module in (session, explore_cli, selftest_command, crashstates_cli):
        assert module.EXIT_LAB == exits.EXIT_LAB == 3 and module.EXIT_USAGE == 2


def test_a_pool_of_labs_is_the_same_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--parallel 2`: the same run directory, saved scenarios, catalogue order and exit status as one lab,
    and every instance goes down."""
    FakeLab.instances.clear()

    def factory(project: str, env: dict[str, str]) -> FakeLab:
        lab = FakeLab()
        lab.project = project  # type: ignore[attr-defined]
        return lab

    args = _args(tmp_path, parallel=2)
    args.scenario, args.seed, args.tier = None, None, 3
    monkeypatch.setattr("chaos_lab.lab.docker.DockerLab", factory)  # the default: one DockerLab per instance
    code = cli.cmd_run(args, cli.Console(quiet=True))
    assert code == 3
    assert len(FakeLab.instances) == 2
    assert all("up" in lab.calls and lab.calls[-1] == "down" for lab in FakeLab.instances)
    [run_dir] = list(tmp_path.iterdir())
    summary = cli.read_summary(run_dir)
    tier3 = [(s.name, seed) for s in SCENARIOS if s.tier == 3 for seed in s.seeds]
    assert [(r.scenario, r.seed) for r in summary.results] == tier3
    assert all(r.status == "runner_error" and r.scenario_file for r in summary.results)
    assert all((run_dir / str(r.scenario_file)).is_file() for r in summary.results)

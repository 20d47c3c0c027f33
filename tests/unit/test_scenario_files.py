"""Scenario and incident files: the whole catalogue round-trips through `show`'s format, the example incident
is valid, and a bad file is one line naming the file, the field and the problem, with exit status 2
(each kind of bad value: test_incident_file_errors.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chaos_lab.cli import main as cli
from chaos_lab.scenarios.catalog import SCENARIOS
from chaos_lab.scenarios.file_format import ScenarioFileError, dump_scenario, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "incidents" / "disk-full-during-snapshot.yaml"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_every_catalogue_scenario_round_trips(scenario: object, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"s.{fmt}"
    path.write_text(dump_scenario(scenario, fmt))  # type: ignore[arg-type]
    assert load_scenario(path) == scenario


def test_show_prints_the_file_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["show", "disk-full-during-burst"]) == 0
    out = capsys.readouterr().out
    assert parse_scenario(yaml.safe_load(out)) == next(
        s for s in SCENARIOS if s.name == "disk-full-during-burst"
    )
    assert cli.main(["show", "disk-full-during-burst", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "disk-full-during-burst"


def test_show_unknown_scenario_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["show", "nope"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err


def test_example_incident_uses_a_state_trigger() -> None:
    scenario = load_scenario(EXAMPLE)
    actions = [s.action for s in scenario.method]
    assert "await_ledger_bytes" in actions and actions.index("await_ledger_bytes") < actions.index("inject")


HEAD = "name: t\ntier: 1\ndescription: d\ncheckers: [{name: no_lost_acks}]\n"
# Bad files, one line each, exit 2: tests/unit/test_incident_file_errors.py


def test_unknown_checker_and_syntax_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: t\ntier: 1\ndescription: d\nmethod: [{action: burst}]\ncheckers: [{name: nope}]\n")
    with pytest.raises(
        ScenarioFileError, match=r"line 5, column 19: checker 1 \(nope\): name: unknown checker 'nope'"
    ):
        load_scenario(path)
    path.write_text("name: t\n  tier: [1\n")
    with pytest.raises(ScenarioFileError, match=r"x\.yaml: line \d+, column \d+: "):
        load_scenario(path)
    bad_json = tmp_path / "x.json"
    bad_json.write_text('{"name": ')
    with pytest.raises(ScenarioFileError, match=r"x\.json: line 1, column \d+: "):
        load_scenario(bad_json)
    with pytest.raises(ScenarioFileError, match="no such file"):
        load_scenario(tmp_path / "missing.yaml")
    path.write_text("- just a list\n")
    with pytest.raises(ScenarioFileError, match="expected a mapping"):
        load_scenario(path)


def test_explicit_signals_are_the_plan() -> None:
    from chaos_lab.experiment.plan import plan

    data = yaml.safe_load(
        HEAD + "method:\n- {action: burst, count: 2, signals: [{symbol: EURUSD, side: BUY, "
        "quantity: 3}, {symbol: GBPUSD, side: SELL, quantity: 1}]}\n"
    )
    scenario = parse_scenario(data)
    steps = plan(scenario, 1).steps
    assert steps == plan(scenario, 2).steps and steps[0].signals[0].quantity == 3.0  # type: ignore[union-attr]
    data["method"][0]["count"] = 3
    with pytest.raises(ScenarioFileError, match="count 3 but 2 signals"):
        parse_scenario(data)

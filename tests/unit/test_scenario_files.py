"""Scenario and incident files: the whole catalogue round-trips through `show`'s format, the example incident
is valid, and a bad file is one line naming the file, the field and the problem, with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chaos_lab import cli
from chaos_lab.scenarios.catalog import SCENARIOS
from chaos_lab.scenarios.files import ScenarioFileError, dump_scenario, load_scenario, parse_scenario

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


BAD = {
    "unknown kind": ("method:\n- {action: inject, name: a, kind: diskfill}\n", "method.0.kind", "diskfill"),
    "bad param": (
        "method:\n- {action: inject, name: a, kind: disk_fill, params: {leave: 0}}\n",
        "method.0.params",
        "'leave'",
    ),
    "unknown action": ("method:\n- {action: explode}\n", "method.0", "explode"),
    "bad count": ("method:\n- {action: burst, count: many}\n", "method.0.count", "integer"),
    "heal before inject": ("method:\n- {action: heal, name: x}\n", "method.0.name", "'x'"),
    "unknown checker": ("method:\n- {action: burst}\ncheckers_x: 1\n", "checkers_x", "Extra inputs"),
}
HEAD = "name: t\ntier: 1\ndescription: d\ncheckers: [{name: no_lost_acks}]\n"


@pytest.mark.parametrize("body,field,problem", BAD.values(), ids=list(BAD))
def test_bad_file_is_one_line_naming_file_field_problem(
    body: str, field: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "incident.yaml"
    path.write_text(HEAD + body)
    with pytest.raises(ScenarioFileError) as exc:
        load_scenario(path)
    message = str(exc.value)
    assert message.startswith(f"{path}: {field}: ") and problem in message and "\n" not in message
    assert cli.main(["run", "--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and field in err


def test_unknown_checker_and_syntax_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: t\ntier: 1\ndescription: d\nmethod: [{action: burst}]\ncheckers: [{name: nope}]\n")
    with pytest.raises(ScenarioFileError, match=r"checkers\.0\.name: unknown checker 'nope'"):
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
    from chaos_lab.generator import plan

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

"""`chaos-lab replay` round trip on the real lab, with nothing planted: a scenario whose goal its fault can
never meet (broker latency never fails a ledger write) is vacuous on the correct engine, every time. The run
saves the scenario and seed; the replay re-runs it from that file and finds it vacuous the same way (4)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support.running_lab import RunningLab

from chaos_lab.cli import main as cli
from chaos_lab.cli.replay import ReplayRecord
from chaos_lab.cli.replay import cmd_replay as replay_cmd
from chaos_lab.report.write import read_summary

NEVER_MET = """
name: latency-never-fails-a-write
tier: 3
description: Broker latency, with a goal it cannot meet (a failed ledger write), vacuous by design.
method:
- {action: burst, count: 6, interval_s: 0.1, background: true}
- {action: wait_ops, count: 2, timeout_s: 30}
- action: inject
  name: slow
  kind: toxic
  params: {type: latency, stream: downstream, attributes: {latency: 100}}
- {action: sleep, seconds: 0.5}
- {action: heal, name: slow}
- {action: await_burst}
restart_on_recover: false
checkers:
- {name: no_lost_acks}
- {name: no_duplicates}
- {name: no_phantoms}
goals:
- {events: [ledger_write_failed], during: slow, why: latency never fails a write}
"""


@pytest.mark.lab
@pytest.mark.tier3
def test_a_vacuous_run_replays_from_its_run_directory_the_same_way(
    lab: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incident = tmp_path / "never-met.yaml"
    incident.write_text(NEVER_MET)
    reports = tmp_path / "reports"
    args = SimpleNamespace(tier=None, scenario=None, seed=11, file=incident, keep_up=True, reports=reports)
    assert cli.cmd_run(args, cli.Console(), lab_factory=lambda: RunningLab(lab)) == 4
    [run_dir] = list(reports.iterdir())
    [r] = read_summary(run_dir).results
    assert r.status == "vacuous" and r.seed == 11, r.runner_error or r.verdicts
    assert r.source_file == str(incident) and (run_dir / str(r.scenario_file)).is_file()
    assert r.replay == f"chaos-lab replay {run_dir} --scenario latency-never-fails-a-write --seed 11"
    incident.write_text("edited afterwards: replay must not read it")

    capsys.readouterr()
    replay = cli._parser().parse_args(["replay", str(run_dir)])
    assert replay_cmd(replay, cli.Console(), lab_factory=lambda: RunningLab(lab)) == 4
    out = capsys.readouterr().out
    assert "SAME    latency-never-fails-a-write seed=11: vacuous the same way" in out, out
    [new_dir] = [p for p in reports.iterdir() if p != run_dir]
    record = ReplayRecord.model_validate_json((new_dir / "replay.json").read_text())
    assert [c.same for c in record.checks] == [True] and record.replay_of == str(run_dir)
    assert read_summary(new_dir).results[0].source_file == str(run_dir / str(r.scenario_file))

"""The explorer against the real lab, bounded: a planted bug (a kill-switch reset applied in memory before it
is saved, bench/mutants.py) is found by a fixed explore schedule, shrunk and replayed, and written as a file
that `chaos-lab run --file` replays; the same schedule on the real engine finds nothing; and a schedule run
twice has the same plan. The full proof (6 planted bugs, whole budgets) is `python -m bench.mutants prove`.

Each explore here runs its own lab instance (project <COMPOSE_PROJECT_NAME>5, ports 19050-19052), never the
session's lab, and takes it down at the end."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.lab_ports import EXPLORE_TEST_PORT

from bench.mutants import BY_NAME, build, remove
from chaos_lab.cli import main as cli
from chaos_lab.lab.docker import PROJECT, DockerLab
from chaos_lab.scenarios.file_format import load_scenario

BASE = os.environ.get("COMPOSE_PROJECT_NAME") or PROJECT
OWN = f"{BASE}5"
# Seed 1, index 258 with only disk faults drawn: the operator activates the kill switch as the workload
# starts, the disk fills after 7 signals, the operator resets the switch while the disk is full (the reset
# cannot be saved: 507), the disk is freed, and the client sends 7 more signals once the engine answers: the
# mutant accepts them, the engine refuses.
SCHEDULE = ["--seed", "1", "--faults", "disk_fill", "--start-index", "258", "--max-schedules", "1",
            "--parallel", "1"]


@pytest.fixture
def own_lab_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", OWN)
    var, default = EXPLORE_TEST_PORT  # another checkout's run or xdist worker: another base
    base = int(os.environ.get(var) or default)
    for i, var in enumerate(("LAB_ENGINE_PORT", "LAB_TOXIPROXY_PORT", "LAB_BROKER_PORT")):
        monkeypatch.setenv(var, str(base + i))
    yield
    assert not any(DockerLab(project=OWN).resources().values())


def _report(out: str) -> dict:  # type: ignore[type-arg]
    line = next(ln for ln in out.splitlines() if ln.startswith("report: "))
    return json.loads(Path(line.split("report: ", 1)[1]).read_text())


@pytest.mark.lab
@pytest.mark.tier4
# six scenario runs (found, 3 shrink attempts, 1 replay, the engine's run) plus a mutant build: ~100 s each at
# load 30 on 2 shared cores, past the suite's 300 s default
@pytest.mark.timeout(1800)
def test_explore_finds_a_planted_bug_the_engine_does_not_have(
    own_lab_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_tag = os.environ.get("LAB_IMAGE_TAG") or "dev"
    tag = build(BY_NAME["kill-switch-reset-fails-open"], base_tag)
    try:
        monkeypatch.setenv("LAB_IMAGE_TAG", tag)
        argv = ["explore", *SCHEDULE, "--budget", "10m", "--reports", str(tmp_path)]
        rc = cli.main([*argv, "--shrink-attempts", "3", "--shrink-tries", "1", "--replays", "1"])
        out = capsys.readouterr().out
        report = _report(out)
        assert rc == 1, out
        (found,) = report["schedules"]
        assert "kill_switch_honoured" in found["violated"], found
        shrunk = report["shrink"]
        assert (
            shrunk["attempts"] >= 1
            and shrunk["minimal_size"]["signals"] <= shrunk["original_size"]["signals"]
        )
        assert f"replay: chaos-lab run --file {shrunk['minimal_file']}" in out
        load_scenario(shrunk["minimal_file"])  # the minimal schedule is a valid scenario file
        assert 0 <= shrunk["reproduced"] <= shrunk["replays"] == 1
    finally:
        remove(tag)
    monkeypatch.setenv("LAB_IMAGE_TAG", base_tag)
    rc = cli.main(["explore", *SCHEDULE, "--budget", "10m", "--reports", str(tmp_path)])
    out = capsys.readouterr().out
    (clean,) = _report(out)["schedules"]
    assert rc == 0 and not clean["violated"] and not clean["error"], out


@pytest.mark.lab
@pytest.mark.tier4
@pytest.mark.timeout(900)  # two scenario runs and a lab start, on a loaded host
def test_check_determinism_replays_the_plan(
    own_lab_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The kinds this plan is drawn from: a fault kind added later must not change the schedule under test.
    argv = ["explore", "--seed", "3", "--index", "2", "--faults", "kill,toxic,disk_fill,pause",
            "--parallel", "1"]
    rc = cli.main([*argv, "--check-determinism", "--reports", str(tmp_path)])
    out = capsys.readouterr().out
    det = _report(out)["determinism"]
    assert rc == 0, out
    plan, first, second = det["plan_digests"]
    assert det["same_plan"] and plan == det["regenerated_digest"] and first == second  # same faults, signals
    assert len(det["verdicts"]) == 2 and all(det["verdicts"])  # both runs were judged

"""Two lab instances side by side: own project, ports, volumes and network, neither sees the other's orders;
both removed at the end, and a SIGTERM during `chaos-lab run --parallel 2` leaves nothing of either."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chaos_lab.checkers.common import coid_for
from chaos_lab.experiment.runner import Runner, ScenarioRun
from chaos_lab.lab.docker import PROJECT, DockerLab
from chaos_lab.lab.pool import LabPool, Work, Workers
from chaos_lab.scenarios.catalog import BY_NAME
from chaos_lab.workload.client import BrokerAdmin

ROOT = Path(__file__).resolve().parents[2]
BASE = os.environ.get("COMPOSE_PROJECT_NAME") or PROJECT


def _leftovers(project: str) -> dict[str, list[str]]:
    return {k: v for k, v in DockerLab(project=project).resources().items() if v}


@pytest.mark.lab
def test_two_instances_run_side_by_side_and_share_nothing() -> None:
    pool = LabPool(2, base_project=BASE)
    projects = [lab.project for lab in pool.labs]
    assert projects == [f"{BASE}1", f"{BASE}2"]
    scenario = BY_NAME["sigkill-mid-burst"]
    with pool:
        engine_urls = {lab.urls()["engine"] for lab in pool.labs}
        assert len(engine_urls) == 2
        for lab in pool.labs:
            res = lab.resources()
            assert res["containers"] and res["networks"] and res["volumes"]
            names = res["containers"] + res["networks"] + res["volumes"]
            assert all(n.startswith(lab.project) for n in names), names

        def one(lab: Any, meter: Any, seed: int) -> tuple[Any, ScenarioRun]:
            return lab, Runner(lab, meter=meter).run(scenario, seed)

        runs = list(Workers(pool.labs, Work.of([1, 2]), one).results())
        assert len(runs) == 2
        for lab, run in runs:
            assert run.result.ok, (
                lab.project,
                run.result.error,
                [v for v in run.result.verdicts if not v.ok],
            )
            mine = {coid_for(op.intent_id) for op in run.history if op.f == "signal" and op.intent_id}
            theirs = {a.client_order_id for a in BrokerAdmin(lab.urls()["broker"]).attempts()}
            assert theirs and theirs <= mine  # every order its broker saw came from its own clients
    for project in projects:
        assert not _leftovers(project), _leftovers(project)


@pytest.mark.lab
def test_sigterm_during_a_parallel_run_removes_every_instance(tmp_path: Path) -> None:
    projects = [f"{BASE}1", f"{BASE}2"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaos_lab.cli.main",
            "run",
            "--parallel",
            "2",
            "--tier",
            "4",
            "--reports",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={**os.environ, "COMPOSE_PROJECT_NAME": BASE},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            up = [
                p
                for p in projects
                if any("engine" in c for c in DockerLab(project=p).resources()["containers"])
            ]
            if len(up) == 2 and proc.poll() is None:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the two lab instances never came up")
        time.sleep(3)  # scenarios under way on both: faults injected, workload running
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == 130, out[-2000:]
    assert "interrupted" in out
    for project in projects:
        assert not _leftovers(project), _leftovers(project)

"""The self-test pipeline end to end on real Docker, bounded: ONE mutant (a 5xx taken as a rejection) and the
unmutated engine, each built into its own image tag and run on one scenario, on two lab instances at once
(`selftest --parallel 2`: one builds while the other runs). The mutant must be flagged (by
no_false_rejects) and the unmutated engine must pass: the proof that the broker-ambiguity fault and its
checker catch the bug they exist for. Its own Compose project and ports, beside the session lab."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import pytest

from chaos_lab.lab.docker import DockerLab
from chaos_lab.selftest.campaign import run_selftest
from chaos_lab.selftest.matrix import SelftestSummary
from chaos_lab.selftest.mutants import MUTANTS_DIR, load_mutant

PORT_SHIFT = 7


def _slots() -> list[tuple[str, dict[str, str]]]:
    base = (os.environ.get("COMPOSE_PROJECT_NAME") or "solat-lab") + "-selftest"
    ports = {"LAB_ENGINE_PORT": 18080, "LAB_TOXIPROXY_PORT": 18474, "LAB_BROKER_PORT": 18700}
    return [
        (f"{base}{i}", {k: str(int(os.environ.get(k) or v) + PORT_SHIFT + 20 * i) for k, v in ports.items()})
        for i in (1, 2)
    ]


@pytest.mark.lab
@pytest.mark.tier2
def test_selftest_flags_one_mutant_and_passes_the_clean_engine(tmp_path: Path) -> None:
    slots = _slots()
    mutant = load_mutant(MUTANTS_DIR / "05-5xx-is-rejection.patch")
    summary = run_selftest(
        [mutant],
        tmp_path / "report",
        lab_factories=[partial(_lab, project, env) for project, env in slots],
        remove_images=lambda tag: DockerLab(project=slots[0][0], env=slots[0][1]).remove_images(tag),
        say=print,
        work=tmp_path / "work",
    )
    assert summary.clean.cells and summary.clean.cells[0].scenario == "broker-commit-then-5xx"
    assert summary.false_alarms == [], summary.false_alarms
    row = summary.mutants[0]
    assert row.build_error is None, row.build_error
    assert row.detected and "no_false_rejects" in row.cells[0].flagged_by, row.cells
    assert (summary.detected, summary.total, summary.score, summary.ok) == (1, 1, 1.0, True)
    saved = SelftestSummary.model_validate_json((tmp_path / "report" / "summary.json").read_text())
    assert saved.score == 1.0 and (tmp_path / "report" / "report.html").exists()
    for project, env in slots:
        assert not DockerLab(project=project, env=env).resources()["containers"]


def _lab(project: str, env: dict[str, str], tag: str) -> DockerLab:
    return DockerLab(project=project, env={**env, "LAB_IMAGE_TAG": tag})

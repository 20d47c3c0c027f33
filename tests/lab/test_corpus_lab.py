"""The gate's corpus on the real lab. Every admitted entry of the repository's `corpus/` passes on the correct
engine (the gate must never cry wolf; `make chaos` runs them as tier 5), and admission is real: `corpus add`
replays a file and admits it only if every replay passed, so a schedule the correct engine fails (here: a
checker told to expect a corrupt ledger on a clean run) stays a candidate, outside the gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from support.running_lab import RunningLab

from chaos_lab.cli import main as cli
from chaos_lab.corpus import command as corpus_cli
from chaos_lab.corpus.store import gate, read_index
from chaos_lab.experiment.runner import Runner
from chaos_lab.scenarios.model import Scenario
from chaos_lab.selftest.build import ROOT

SCHEDULE = """
name: {name}
tier: 3
description: A short burst through a slow link (the correct engine passes it, unless told otherwise).
method:
- {{action: burst, count: 6, interval_s: 0.1, background: true}}
- {{action: wait_ops, count: 2, timeout_s: 30}}
- action: inject
  name: slow
  kind: toxic
  params: {{type: latency, stream: downstream, attributes: {{latency: 100}}}}
- {{action: sleep, seconds: 0.5}}
- {{action: heal, name: slow}}
- {{action: await_burst}}
restart_on_recover: false
checkers:
- {{name: no_lost_acks}}
- {{name: no_duplicates}}
- {{name: ledger_integrity, params: {{expect_corruption: {corrupt}}}}}
"""


GATE = gate(ROOT / "corpus")


def test_the_repository_corpus_has_admitted_entries() -> None:
    assert GATE, "the repository's corpus has no admitted entry: the gate's tier 5 would be empty"


@pytest.mark.lab
@pytest.mark.tier4
@pytest.mark.parametrize("scenario", GATE, ids=[s.name for s in GATE])
def test_every_admitted_corpus_entry_passes_on_the_correct_engine(lab: Any, scenario: Scenario) -> None:
    """One test an entry: on xdist workers the runs (~160 s in all) spread instead of holding one worker."""
    result = Runner(lab).run(scenario, scenario.seeds[0]).result
    assert result.status == "passed", (result.status, [v.name for v in result.verdicts if not v.ok],
                                       [g.goal.describe() for g in result.missed_goals], result.error)


@pytest.mark.lab
@pytest.mark.tier4
def test_admission_replays_a_file_and_admits_it_only_if_every_replay_passed(lab: Any, tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    console = Console(width=200)
    codes = {}
    for name, corrupt in (("slow-link-passes", "false"), ("slow-link-told-to-fail", "true")):
        file = tmp_path / f"{name}.yaml"
        file.write_text(SCHEDULE.format(name=name, corrupt=corrupt), encoding="utf-8")
        args = cli._parser().parse_args(["corpus", "add", str(file), "--dir", str(root), "--no-load",
                                         "--replays", "2", "--reports", str(tmp_path / "reports")])
        codes[name] = corpus_cli.main(args, console, lambda: RunningLab(lab))
    index = read_index(root)
    passes, fails = index.get("slow-link-passes"), index.get("slow-link-told-to-fail")
    assert codes == {"slow-link-passes": 0, "slow-link-told-to-fail": 1}
    assert passes is not None and passes.admitted is not None and passes.admitted.passed == 2
    assert (passes.admitted.idle, passes.admitted.loaded) == (2, False)  # --no-load: idle replays only
    assert "reach:broker_order_received" in passes.features  # what both replays reached
    assert fails is not None and fails.admitted is None  # a candidate still
    assert [s.name for s in gate(root)] == ["slow-link-passes"]

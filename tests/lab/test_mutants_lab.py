"""Proof that each new fault and checker catches the engine bug it exists for: a planted bug (a self-test
mutant, applied to a scratch copy of the engine and built into its own image) runs the scenario and the
expected checker must flag it. That the correct engine passes the same scenarios is tests/lab/
test_scenarios.py (every catalogue scenario, the unmutated engine). One mutant build each: bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos_lab.experiment.runner import Runner
from chaos_lab.lab.docker import DockerLab
from chaos_lab.scenarios.catalog import BY_NAME
from chaos_lab.scenarios.checks import AVAILABLE, CORE, _c
from chaos_lab.scenarios.model import Burst, FloatRange, Heal, Inject, Scenario, Sleep
from chaos_lab.selftest.build import ROOT, build_variant
from chaos_lab.selftest.mutants import MUTANTS_DIR, apply_mutant, load_mutant

PORT_SHIFT = 7
PLANTED = [  # mutant, scenario, checker that must flag it (fault under test)
    ("01-fsync-error-ignored", "fsync-eio-mid-burst", "fsync_fatal"),  # fsync_eio
    ("02-fsync-retry-and-forget", "fsync-eio-once", "fsync_fatal"),  # fsync_eio_once
    ("04-recovery-trusts-truncate", "write-eio-while-trading", "health_truth"),  # write_eio
    ("07-balance-age-wall-clock", "clock-step-back", "balance_fresh"),  # clock_step (back)
    ("08-ledger-refuses-backward-time", "clock-step-back", "clock_safety"),  # clock_step (back)
    ("13-reconcile-assumes-not-sent", "oom-kill-mid-burst", "no_false_rejects"),  # memory_oom
    ("14-signal-ttl-wall-clock", "clock-runs-fast", "no_false_rejects"),  # clock_fast
    ("15-signal-budget-abandons-order", "cpu-starved-burst", "no_false_rejects"),  # cpu_starve
    ("16-intent-lock-released-over-io", "pause-past-client-timeout", "positions_match"),  # pause
    ("17-snapshot-writer-gives-up", "disk-full-on-snapshot", "snapshots_resume"),  # disk_fill (snapshot)
    ("18-reconcile-sends-unsent-intent", "broker-reset-peer", "no_unrequested_orders"),  # toxic + restart
    ("19-reconcile-skips-unsubmitted", "restart-from-captured-crash", "start_state_kept"),  # captured start
    ("20-dir-fsync-leaks-fd", "endurance", "resources_bounded"),  # slow damage: a descriptor per snapshot
    ("21-snapshot-rewritten-while-idle", "endurance", "idle_quiet"),  # slow damage: an idle writer
    ("27-stale-snapshot-kept-after-tail-repair", "torn-ledger-tail", "snapshot_consistent"),  # as found
    ("23-balance-age-reset-before-fetch", "balance-stale-across-outage", "balance_fresh"),  # proxy_down
    ("24-retry-resend-skips-kill-switch", "halt-while-in-doubt", "kill_switch_honoured"),  # toxic + operator
]
# Bugs that show only when the engine loses a race, and the runs allowed to show it. 15: at each thaw of the
# starved CPU the 0.5 s budget's timer and the routing thread race for the engine; a run in which every
# in-flight signal's routing wins shows nothing. cpu-starved-burst flagged it 18 of 18 times under stress-ng
# and missed it in one clean-clone make test run (2026-12-05): the claim is "flagged within 2 runs".
RACES = {"15-signal-budget-abandons-order": 2}
# The same bug against disk-full-on-snapshot as it was before it had reach goals: the disk held full for
# 1.5-2.5 s at the engine's default 5 s snapshot interval, no snapshot checker. It passes.
OLD_SNAPSHOT_SCENARIO = Scenario(
    name="disk-full-on-snapshot-before-reach",
    tier=1,
    description="disk-full-on-snapshot as it was before reach goals",
    method=(
        Burst(count=10),
        Inject(name="disk-full", kind="disk_fill", params={"leave_bytes": 0}),
        Sleep(seconds=FloatRange(lo=1.5, hi=2.5)),
        Burst(count=3),
        Heal(name="disk-full"),
    ),
    checkers=(*CORE, _c("fail_closed", min_ops_in_window=1), AVAILABLE),
    goals=(),
)


def _env() -> tuple[str, dict[str, str]]:
    project = (os.environ.get("COMPOSE_PROJECT_NAME") or "solat-lab") + "-mutant"
    ports = {"LAB_ENGINE_PORT": 18080, "LAB_TOXIPROXY_PORT": 18474, "LAB_BROKER_PORT": 18700}
    return project, {k: str(int(os.environ.get(k) or v) + PORT_SHIFT) for k, v in ports.items()}


@pytest.mark.lab
@pytest.mark.tier1
@pytest.mark.parametrize("name,scenario,checker", PLANTED, ids=[p[0] for p in PLANTED])
def test_planted_engine_bug_is_flagged(tmp_path: Path, name: str, scenario: str, checker: str) -> None:
    project, env = _env()
    tag = "proof-" + name.split("-", 1)[0]
    mutant = load_mutant(MUTANTS_DIR / f"{name}.patch", set(BY_NAME))
    engine = apply_mutant(mutant, ROOT / "engine", tmp_path / "engine")
    build_variant(engine, tag, tmp_path / "build.log")
    try:
        with DockerLab(project=project, env={**env, "LAB_IMAGE_TAG": tag}) as lab:
            for _run in range(RACES.get(name, 1)):
                result = Runner(lab).run(BY_NAME[scenario], BY_NAME[scenario].seeds[0]).result
                if any(v.name == checker and not v.ok for v in result.verdicts):
                    break
    finally:
        DockerLab(project=project, env=env).remove_images(tag)
    flagged = {v.name: v.summary for v in result.verdicts if not v.ok}
    assert checker in flagged, (
        f"{name} on {scenario}: {checker} passed ({result.status}); failed {flagged}; {result.error}"
    )
    assert result.runner_error is None and result.status == "failed", result.error


@pytest.mark.lab
@pytest.mark.tier1
def test_snapshot_bug_passes_the_old_scenario(tmp_path: Path) -> None:
    """The planted snapshot-writer bug passes disk-full-on-snapshot as it was (the fixed one flags it:
    test_planted_engine_bug_is_flagged[17-...]): nothing in the old scenario judged whether snapshots
    resumed, and in most of its runs no snapshot was even due while the disk was full."""
    project, env = _env()
    tag = "proof-17-old"
    mutant = load_mutant(MUTANTS_DIR / "17-snapshot-writer-gives-up.patch", set(BY_NAME))
    engine = apply_mutant(mutant, ROOT / "engine", tmp_path / "engine")
    build_variant(engine, tag, tmp_path / "build.log")
    try:
        with DockerLab(project=project, env={**env, "LAB_IMAGE_TAG": tag}) as lab:
            result = Runner(lab).run(OLD_SNAPSHOT_SCENARIO, 1).result
    finally:
        DockerLab(project=project, env=env).remove_images(tag)
    assert result.status == "passed", [v.summary for v in result.verdicts if not v.ok]

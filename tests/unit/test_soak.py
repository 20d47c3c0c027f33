"""The soak's figures: nearest-rank percentiles, loaded/idle ratios, runner errors told from verdicts."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from chaos_lab.cli.soak import aggregate, percentiles, run_child, run_from_summary
from chaos_lab.models import PhaseTiming, RunSummary, ScenarioResult, Verdict


def _result(name: str, seconds: float, error: str | None = None, verdict_ok: bool = True) -> ScenarioResult:
    return ScenarioResult(
        scenario=name, tier=1, seed=1, ok=error is None and verdict_ok, started=datetime.now(UTC),
        duration_s=seconds, wait_s=0.0, error=error,
        phases=[PhaseTiming(phase="method", seconds=seconds * 0.6), PhaseTiming(phase="verify", seconds=0.1)],
        verdicts=[Verdict(name="no_lost_acks", ok=verdict_ok, summary="ok" if verdict_ok else "lost ack")],
    )


def _summary(*results: ScenarioResult) -> RunSummary:
    return RunSummary(run_id="r", started=datetime.now(UTC), duration_s=1.0, wait_s=0.0,
                      ok=all(r.ok for r in results), results=list(results))


def test_percentiles_are_nearest_rank() -> None:
    p = percentiles([float(x) for x in range(1, 21)])
    assert p is not None and (p.n, p.p50, p.p95, p.max) == (20, 10.0, 19.0, 20.0)
    one = percentiles([4.0])
    assert one is not None and (one.p50, one.p95, one.max) == (4.0, 4.0, 4.0)
    assert percentiles([]) is None


def test_aggregate_counts_and_ratios(tmp_path: Path) -> None:
    idle = run_from_summary(0, False, 0, tmp_path, _summary(_result("a", 2.0), _result("b", 4.0)))
    load1 = run_from_summary(1, True, 0, tmp_path, _summary(_result("a", 3.0), _result("b", 8.0)))
    load2 = run_from_summary(2, True, 3, tmp_path, _summary(
        _result("a", 5.0, error="rollback: ConnectionError: ('Connection aborted.', RemoteDisconnected())",
                verdict_ok=False),
        _result("b", 6.0, verdict_ok=False),
    ))
    lab_down = run_from_summary(3, True, 3, None, None)
    s = aggregate([idle, load1, load2, lab_down], cpu_workers=2, started=datetime.now(UTC), top=2)
    assert (s.runs, s.runner_errors, s.failed_verdicts, s.lab_errors) == (3, 1, 1, 1)
    # the verdict of the scenario the lab could not run is not counted against the engine
    assert load2.runner_errors == [
        "a[1]: rollback (ConnectionError): ('Connection aborted.', RemoteDisconnected())"
    ]
    assert load2.failed_verdicts == ["b[1]: no_lost_acks: lost ack"]
    assert s.idle is not None and (s.idle.p50, s.idle.max) == (2.0, 4.0)
    assert s.loaded is not None
    assert (s.loaded.n, s.loaded.p50, s.loaded.p95, s.loaded.max) == (4, 5.0, 8.0, 8.0)
    assert (s.p50_ratio, s.p95_ratio, s.max_ratio) == (2.5, 2.0, 2.0)
    assert s.slowest_steps == [("b[1] method", 4.8), ("a[1] method", 3.0)]
    assert lab_down.lab_error == "no summary.json (exit 3)"


def test_an_overrunning_run_is_ended_like_ctrl_c_so_it_can_take_its_lab_down(tmp_path: Path) -> None:
    """subprocess.run's timeout SIGKILLed the run: its lab's containers and volumes were left behind."""
    cleaned = tmp_path / "lab-down"
    child = (
        "import signal, sys, time\n"
        "def down(*_):\n"
        f"    open({str(cleaned)!r}, 'w').write('down'); sys.exit(130)\n"
        "signal.signal(signal.SIGTERM, down)\n"
        "print('running', flush=True); time.sleep(30)\n"
    )
    code, output = run_child([sys.executable, "-c", child], timeout_s=1.0, down_s=10)
    assert code == -1 and b"running" in output
    assert cleaned.read_text() == "down"

"""Reach events and goals, without Docker: the engine's REACH lines placed on the history's axis, goals
judged inside their fault's window, the default goals of each fault kind, and the vacuous outcome."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from solat_engine import reach as engine_reach

from chaos_lab.checkers import snapshots_resume
from chaos_lab.models import (
    FaultWindow,
    Goal,
    Observation,
    Op,
    ReachEvent,
    RunSummary,
    ScenarioResult,
    Verdict,
)
from chaos_lab.reach.events import counts, engine_events, gather
from chaos_lab.reach.goals import judge, scenario_goals
from chaos_lab.scenarios.catalog import BY_NAME

T0 = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


def _op(index: int, t: float, process: str, type_: str, f: str, **kw: object) -> Op:
    return Op(index=index, process=process, type=type_, f=f, time=t, wall=T0 + timedelta(seconds=t), **kw)


def _stamp(t: float) -> str:
    return (T0 + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def test_engine_lines_land_on_the_history_axis_and_noise_is_skipped() -> None:
    obs = Observation(scenario="x", history=[_op(0, 1.0, "setup", "ok", "reset")])
    log = "\n".join([
        f"{_stamp(2.5)} REACH " + json.dumps({"event": "snapshot_write_failed", "errno": 28}),
        f"{_stamp(3.0)} INFO something else",
        f"{_stamp(3.1)} REACH not json",
        f"{_stamp(-5.0)} REACH " + json.dumps({"event": "before_the_run"}),
    ])
    [event] = engine_events(obs, log)
    assert (event.name, event.time, event.fields) == ("snapshot_write_failed", 2.5, {"errno": 28})
    assert event.source == "engine"


def test_the_engine_emitter_is_bounded_and_keeps_no_reason_text() -> None:
    out = io.StringIO()
    for _ in range(engine_reach.LIMIT + 5):
        engine_reach.emit("test_bounded_event", out=out, errno=28)
    lines = out.getvalue().splitlines()
    assert len(lines) == engine_reach.LIMIT + 1
    assert json.loads(lines[-1].removeprefix("REACH ")) == {"event": "suppressed", "of": "test_bounded_event",
                                                            "after": engine_reach.LIMIT}


def test_a_goal_counts_only_inside_its_window_and_names_what_happened_elsewhere() -> None:
    goal = Goal(events=("snapshot_write_failed",), during="full", where={"errno": 28})
    window = FaultWindow(name="full", kind="disk_fill", start=1.0, end=2.0)
    inside = ReachEvent(name="snapshot_write_failed", time=1.5, source="engine", fields={"errno": 28})
    late = inside.model_copy(update={"time": 9.0})
    other_errno = inside.model_copy(update={"fields": {"errno": 5}})
    [met] = judge((goal,), [inside, late], [window], end=10.0)
    assert met.met and met.seen == 1
    [missed] = judge((goal,), [late, other_errno], [window], end=10.0)
    assert not missed.met and missed.seen == 0 and missed.elsewhere == {"snapshot_write_failed": 2}


def test_every_catalogue_scenario_has_goals_bound_to_its_own_faults() -> None:
    for scenario in BY_NAME.values():
        goals = scenario_goals(scenario)
        injected = {s.name for s in scenario.method if s.action == "inject"}
        assert goals, scenario.name
        assert all(g.during is None or g.during in injected for g in goals), scenario.name


def test_a_partial_disk_fill_promises_no_failed_write() -> None:
    from chaos_lab.faults.disk_fill import DiskFill

    assert DiskFill.default_goals({"leave_bytes": 4096}) == ()
    [goal] = DiskFill.default_goals({"leave_bytes": 0})
    assert goal.where == {"errno": 28}


def test_cpu_starvation_promises_work_handled_while_starved_not_only_a_throttle() -> None:
    from chaos_lab.faults.cpu_starve import CpuStarve

    events = [g.events for g in CpuStarve.default_goals({})]
    assert events == [("cpu_throttled",), ("signal_answered",)]
    idle_throttle = ReachEvent(name="cpu_throttled", time=3.0, source="lab", fields={"periods": 2})
    window = FaultWindow(name="f", kind="cpu_starve", start=1.0, end=3.0)
    bound = scenario_goals(BY_NAME["cpu-starved-burst"])
    assert [g.during for g in bound] == ["cpu-starved", "cpu-starved"]
    goals = tuple(g.model_copy(update={"during": "f"}) for g in bound)
    throttled, work = judge(goals, [idle_throttle], [window], end=5.0)
    assert throttled.met and not work.met
    assert not any(r.met for r in judge(goals, [], [window], end=5.0))


def test_what_a_fault_measured_at_its_heal_is_a_lab_event_at_the_window_end() -> None:
    measured = {"kind": "cpu_starve", "result": {"throttled_periods": 2, "events": [
        {"event": "cpu_throttled", "periods": 2, "seconds": 1.9}]}}
    history = [
        _op(0, 1.0, "nemesis", "invoke", "inject", fault="f", value={"kind": "cpu_starve"}),
        _op(1, 1.1, "nemesis", "ok", "inject", fault="f", value={"kind": "cpu_starve"}),
        _op(2, 3.0, "nemesis", "invoke", "heal", fault="f", value={"kind": "cpu_starve"}),
        _op(3, 3.2, "nemesis", "ok", "heal", fault="f", value=measured),
        _op(4, 4.0, "nemesis", "ok", "heal", fault="g", value={"kind": "pause"}),  # measured nothing
    ]
    [event] = gather(Observation(scenario="x", history=history), "")
    assert (event.name, event.time, event.source) == ("cpu_throttled", 3.0, "lab")
    assert event.fields == {"periods": 2, "seconds": 1.9}


def _result(**kw: object) -> ScenarioResult:
    return ScenarioResult(scenario="s", tier=1, seed=1, ok=False, started=T0, duration_s=1.0, wait_s=0.0,
                          **kw)  # type: ignore[arg-type]


def test_a_run_that_missed_a_goal_is_vacuous_and_a_failed_verdict_still_wins() -> None:
    missed = judge((Goal(events=("stall",)),), [], [], end=1.0)
    assert _result(goals=missed).status == "vacuous"
    failed = [Verdict(name="no_duplicates", ok=False, summary="2 orders")]
    assert _result(goals=missed, verdicts=failed).status == "failed"
    summary = RunSummary(run_id="r", started=T0, duration_s=1.0, wait_s=0.0, ok=False,
                         results=[_result(goals=missed, reach={"stall": 0})])
    assert summary.vacuous == 1 and summary.reach_map.goals_never_met == ["s: >= 1 stall"]


def _snapshot_obs(written_after_heal: bool) -> Observation:
    history = [
        _op(0, 0.0, "setup", "ok", "reset"),
        _op(1, 1.0, "nemesis", "invoke", "inject", fault="full", value={"kind": "disk_fill"}),
        _op(2, 1.1, "nemesis", "ok", "inject", fault="full", value={"kind": "disk_fill"}),
        _op(3, 2.0, "nemesis", "invoke", "heal", fault="full"),
        _op(4, 2.0, "nemesis", "ok", "heal", fault="full"),
        _op(5, 6.0, "setup", "ok", "done", phase="recover"),
    ]
    reach = [ReachEvent(name="snapshot_write_failed", time=1.5, source="engine", fields={"errno": 28})]
    if written_after_heal:
        reach.append(ReachEvent(name="snapshot_written", time=2.6, source="engine"))
    return Observation(scenario="x", history=history, reach=reach)


def test_snapshots_resume_flags_a_snapshotter_that_gave_up() -> None:
    assert snapshots_resume.check(_snapshot_obs(True), within_s=1.5).ok
    verdict = snapshots_resume.check(_snapshot_obs(False), within_s=1.5)
    assert not verdict.ok and "no snapshot written within 1.5s after full" in verdict.summary
    assert snapshots_resume.check(Observation(scenario="x", history=_snapshot_obs(False).history)).ok


def test_gather_adds_the_labs_own_events() -> None:
    history = [
        _op(0, 0.0, "workload", "invoke", "signal", intent_id="00000000-0000-0000-0000-000000000001"),
        _op(1, 0.1, "nemesis", "invoke", "inject", fault="k", value={"kind": "kill"}),
        _op(2, 0.3, "workload", "fail", "signal", intent_id="00000000-0000-0000-0000-000000000001",
            status_code=507),
    ]
    events = gather(Observation(scenario="x", history=history), "")
    assert counts(events) == {"signal_answered": 1, "workload_hit": 1}
    hit = next(e for e in events if e.name == "workload_hit")
    assert hit.fields == {"in_flight": 1, "fault": "k"}

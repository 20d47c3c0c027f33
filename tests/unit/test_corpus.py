"""The gate's corpus without Docker: what a run reached as features; `collect` keeps only what reached
something new (or found a bug), never a vacuous or lab-error schedule; `min` covers the same features within a
budget and never drops a bug's schedule; admission needs every replay to pass; the gate runs only admitted
entries, as tier 5; bad input is one line and exit 2."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from chaos_lab.cli.main import choose, main
from chaos_lab.cli.session import print_result
from chaos_lab.corpus import admit as admit_module
from chaos_lab.corpus.admit import judge
from chaos_lab.corpus.collect import collect
from chaos_lab.corpus.features import features
from chaos_lab.corpus.minimise import minimise
from chaos_lab.corpus.store import Admission, CorpusIndex, Entry, header, load, read_index, save, write_index
from chaos_lab.experiment.runner import Runner, ScenarioRun
from chaos_lab.explore.kinds import explorable
from chaos_lab.explore.outcome import ExploreReport, ScheduleOutcome, ShrinkReport
from chaos_lab.explore.render import render
from chaos_lab.explore.schedule import generate
from chaos_lab.lab.stress import MISSING, Stress
from chaos_lab.models import CheckerSpec, Goal, GoalResult, RunSummary, ScenarioResult, Verdict
from chaos_lab.scenarios.file_format import write_scenario
from chaos_lab.scenarios.model import Burst, Heal, Inject, Scenario

T0 = datetime(2026, 12, 5, tzinfo=UTC)
KINDS, _ = explorable()


def test_features_name_reach_kinds_their_pairs_and_what_was_found() -> None:
    got = features(["kill", "disk_fill", "kill"], {"snapshot_written": 3, "stall": 0}, ["positions_match"])
    assert got == {
        "reach:snapshot_written", "fault:kill", "fault:disk_fill", "pair:disk_fill+kill",
        "found:positions_match",
    }


def _outcome(index: int, path: Path, reach: dict[str, int], **kw: object) -> ScheduleOutcome:
    schedule = generate(3, index, KINDS)
    write_scenario(render(schedule), path / "schedules" / f"{schedule.name}.yaml")
    base: dict[str, object] = dict(
        index=index, name=schedule.name, file=str(path / "schedules" / f"{schedule.name}.yaml"), ok=True,
        duration_s=10.0 + index, faults=[f.kind for f in schedule.faults], plan_digest="p",
        verdict_digest="v", reach=reach,
    )
    return ScheduleOutcome.model_validate(base | kw)


def _explore_dir(tmp_path: Path, outcomes: list[ScheduleOutcome], shrink: ShrinkReport | None = None) -> Path:
    report = ExploreReport(seed=3, budget_s=60, max_schedules=10, parallel=1, kinds=KINDS,
                           unexplored_kinds=[], started=T0, schedules=outcomes, shrink=shrink)
    (tmp_path / "explore.json").write_text(report.model_dump_json(), encoding="utf-8")
    return tmp_path


def test_collect_keeps_what_reached_something_new_or_found_a_bug(tmp_path: Path) -> None:
    ex = tmp_path / "explore"
    first = _outcome(0, ex, {"snapshot_written": 2})
    same = first.model_copy(update={"index": 1, "name": first.name})  # the same reach and faults again
    vacuous = _outcome(2, ex, {"stall": 1}, missed_goals=["stall during f1"])
    error = _outcome(3, ex, {"recovery_record_written": 1}, ok=False, error="reset: lab gone")
    bug = first.model_copy(update={"index": 4, "violated": ["positions_match"], "ok": False})
    new = first.model_copy(update={"index": 5, "reach": {"snapshot_written": 1, "reconcile_lookup": 1}})
    root = tmp_path / "corpus"
    added = collect(_explore_dir(ex, [first, same, vacuous, error, bug, new]), root)

    assert [e.source.split(" (")[0] for e in added] == [
        "explore seed 3 index 0", "explore seed 3 index 4", "explore seed 3 index 5"
    ]
    assert added[1].found == ["positions_match"] and added[1].name == f"{first.name}-2"  # a unique name
    assert added[2].new == ["reach:reconcile_lookup"]
    assert all(e.admitted is None for e in added)  # candidates until their replays pass
    assert (root / f"{first.name}.yaml").is_file() and len(read_index(root).entries) == 3
    assert collect(ex, root) == []  # the same exploration twice adds nothing


def test_collect_takes_the_shrunk_schedule_of_a_violation(tmp_path: Path) -> None:
    ex = tmp_path / "explore"
    o = _outcome(0, ex, {"snapshot_written": 1}, violated=["no_duplicates"], ok=False)
    minimal = ex / f"{o.name}-minimal.yaml"
    write_scenario(render(generate(3, 0, KINDS)).model_copy(update={"name": f"{o.name}-minimal"}), minimal)
    shrunk = ShrinkReport(original=o.file, original_size={}, minimal_size={}, minimal_file=str(minimal),
                          minimal_faults=o.faults[:1], violated=["no_duplicates"], attempts=3, replays=3,
                          reproduced=3, replay_command="x", duration_s=30.0)
    added = collect(_explore_dir(ex, [o], shrunk), tmp_path / "corpus")
    assert [e.name for e in added] == [o.name, f"{o.name}-minimal"]
    assert added[1].found == ["no_duplicates"] and "shrunk from" in added[1].source


def _entry(name: str, feats: list[str], seconds: float, found: list[str] | None = None) -> Entry:
    return Entry(name=name, source="t", features=feats, duration_s=seconds, found=found or [])


def test_min_covers_the_same_features_with_fewer_seconds() -> None:
    index = CorpusIndex(entries=[
        _entry("a", ["x", "y"], 10), _entry("b", ["x", "y", "z"], 12), _entry("c", ["z"], 5),
        _entry("d", ["w"], 30),
    ])
    kept, lost = minimise(index)
    assert [e.name for e in kept] == ["b", "d"] and lost == set()


def test_min_fits_the_budget_and_never_drops_a_bugs_schedule() -> None:
    index = CorpusIndex(entries=[
        _entry("bug", ["x"], 40, found=["positions_match"]), _entry("cheap", ["y"], 5),
        _entry("dear", ["z", "v"], 60),
    ])
    kept, lost = minimise(index, budget_s=50)
    assert [e.name for e in kept] == ["bug", "cheap"] and lost == {"z", "v"}


GOAL_A = Goal(events=("snapshot_written",))
GOAL_B = Goal(events=("stall",), during="k")


def _result(status_ok: bool, reach: dict[str, int], seconds: float = 10.0,
            met: tuple[bool, bool] = (True, True), error: str | None = None) -> ScenarioResult:
    verdicts = [Verdict(name="positions_match", ok=status_ok, summary="")]
    goals = [GoalResult(goal=g, seen=int(m), met=m) for g, m in zip((GOAL_A, GOAL_B), met, strict=True)]
    return ScenarioResult(scenario="e", tier=5, seed=1, ok=status_ok, started=T0, duration_s=seconds,
                          wait_s=0.0, verdicts=verdicts, reach=reach, goals=goals, error=error)


def _scenario() -> Scenario:
    return Scenario(name="e", tier=5, description="d", method=(
        Burst(count=3), Inject(name="k", kind="kill", params={"signal": "SIGKILL"}), Heal(name="k"),
    ), checkers=(CheckerSpec(name="positions_match"),))


def test_admission_needs_every_replay_to_pass_and_keeps_what_all_of_them_reached(tmp_path: Path) -> None:
    entry = _entry("e", ["reach:stall"], 9.0, found=["no_duplicates"])
    runs = [_result(True, {"stall": 1, "snapshot_written": 2}, 8.0),
            _result(True, {"snapshot_written": 1}, 12.0)]
    kept, line = judge(entry, _scenario(), runs, 2, True, tmp_path)
    assert kept is not None and "2/2 passed under load" in line
    # the defaults, now written out, and what every replay reached (snapshot_written is GOAL_A already)
    assert kept.goals == (GOAL_A, GOAL_B)
    save(tmp_path, kept, header(entry))
    assert load(tmp_path, entry) == kept  # the file as admission wrote it (tier 5) loads back the same
    assert entry.features == ["fault:kill", "found:no_duplicates", "reach:snapshot_written"]
    assert entry.admitted is not None and entry.admitted.mean_duration_s == 10.0 and entry.duration_s == 10.0

    other = _entry("f", [], 9.0)
    kept, line = judge(other, _scenario(), [_result(True, {}), _result(False, {})], 2, False, tmp_path)
    assert kept is None and other.admitted is None and "1/2 passed" in line and "positions_match" in line
    lab_error = _result(True, {}, error="reset: gone")
    kept, line = judge(other, _scenario(), [_result(True, {}), lab_error], 2, False, tmp_path)
    assert kept is None and "lab error" in line
    kept, line = judge(other, _scenario(), [_result(True, {})], 2, False, tmp_path)
    assert kept is None and "1 not run" in line


def test_admission_keeps_only_the_goals_every_replay_met(tmp_path: Path) -> None:
    """A late fault whose window one replay left idle: the entry keeps its other goal, and says so."""
    entry = _entry("e", [], 9.0)
    runs = [_result(True, {}), _result(True, {}, met=(True, False)), _result(True, {})]
    kept, line = judge(entry, _scenario(), runs, 3, True, tmp_path)
    assert kept is not None and kept.goals == (GOAL_A,)
    assert entry.unreliable_goals == [f"{GOAL_B.describe()}: met 2/3"] and "goals dropped" in line
    none_kept, line = judge(_entry("g", [], 9.0), _scenario(), [_result(True, {}, met=(False, False))] * 2, 2,
                            True, tmp_path)
    assert none_kept is None and "nothing reached in every replay" in line


def test_what_every_replay_reached_becomes_a_goal_of_the_entry(tmp_path: Path) -> None:
    """A schedule whose faults declare no goal (a fill that leaves room, a stop) still proves its reach."""
    runs = [_result(True, {"stall": 1, "reconcile_lookup": 2}, met=(False, False)),
            _result(True, {"reconcile_lookup": 1}, met=(False, False))]
    kept, _ = judge(_entry("e", [], 9.0), _scenario(), runs, 2, True, tmp_path)
    assert kept is not None and [g.events for g in kept.goals] == [("reconcile_lookup",)]
    assert kept.goals[0].during is None and kept.goals[0].why == "reached in every admission replay"


def _admitted_corpus(root: Path) -> None:
    schedule = generate(3, 1, KINDS)
    scenario = render(schedule)
    write_scenario(scenario, root / f"{scenario.name}.yaml")
    admission = Admission(replays=5, passed=5, loaded=True, at=T0, mean_duration_s=9.0, run_dir="r")
    write_index(root, CorpusIndex(entries=[
        Entry(name=scenario.name, source="t", features=[], duration_s=9.0, admitted=admission),
    ]))


def test_the_gate_runs_admitted_entries_as_tier_5(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    _admitted_corpus(root)
    (entry,) = choose(5, None, root)
    assert entry.tier == 5 and entry.name == generate(3, 1, KINDS).name
    everything = choose(None, None, root)
    assert everything[-1] == entry and {s.tier for s in everything} == {1, 2, 3, 4, 5}
    assert choose(None, entry.name, root) == [entry]
    assert all(s.tier == 3 for s in choose(3, None, root))
    assert choose(None, None, tmp_path / "none") == choose(None, None, None)  # no corpus: the catalogue

    index = read_index(root)
    index.entries[0].admitted = None  # a candidate is not part of the gate
    write_index(root, index)
    with pytest.raises(KeyError, match="no admitted entry"):
        choose(5, None, root)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "--tier", "6"], "unknown tier 6"),
        (["list", "--tier", "0"], "unknown tier 0"),
        (["corpus", "admit", "--dir", "{root}", "nope"], "no entry 'nope'"),
        (["corpus", "admit", "--dir", "{root}", "--replays", "0"], "--replays must be 1..20"),
        (["corpus", "add", "--dir", "{root}", "--no-load", "{root}/missing.yaml"], "no such file"),
        (["corpus", "min", "--dir", "{root}", "--budget", "soon"], "--budget: not a duration"),
        (["corpus", "collect", "--dir", "{root}", "{root}"], "no explore.json"),
        (["corpus", "list", "--dir", "{bad}"], "not a corpus index"),
        (["run", "--corpus", "{bad}", "--tier", "5"], "not a corpus index"),
    ],
)
@pytest.mark.parametrize("stress_ng", [True, False], ids=["stress-ng", "no-stress-ng"])
def test_bad_corpus_input_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    says: str,
    stress_ng: bool,
) -> None:
    """The argument is named whether or not this machine has stress-ng (a fresh one has not)."""
    monkeypatch.setattr(Stress, "available", staticmethod(lambda: stress_ng))
    root, bad = tmp_path / "corpus", tmp_path / "bad"
    _admitted_corpus(root)
    bad.mkdir()
    (bad / "index.json").write_text('{"entries": [{"name": 3}]}', encoding="utf-8")
    args = [a.format(root=root, bad=bad) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_a_good_admit_without_stress_ng_names_the_tool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Stress, "available", staticmethod(lambda: False))
    root = tmp_path / "corpus"
    _admitted_corpus(root)
    assert main(["corpus", "admit", "--dir", str(root), generate(3, 1, KINDS).name]) == 2
    err = capsys.readouterr().err
    assert MISSING in err and "--no-load" in err and len(err.strip().splitlines()) == 1



class _Lab:
    def urls(self) -> dict[str, str]:
        return {}


@pytest.mark.parametrize(
    ("attempts", "statuses", "want", "runs"),
    [
        (3, ["vacuous", "vacuous", "passed"], "passed", 3),  # met on the third run
        (3, ["vacuous", "failed", "passed"], "failed", 2),  # a failed checker ends it at once
        (3, ["vacuous"] * 3, "vacuous", 3),  # never met: vacuous
        (1, ["vacuous", "passed"], "vacuous", 1),  # the catalogue's default: the first run decides
    ],
)
def test_a_corpus_entry_gets_its_reach_attempts_and_no_more(
    monkeypatch: pytest.MonkeyPatch, attempts: int, statuses: list[str], want: str, runs: int
) -> None:
    results = {"passed": (True, (True, True)), "vacuous": (True, (True, False)),
               "failed": (False, (True, True))}
    queue = [_result(ok, {}, met=met) for ok, met in (results[s] for s in statuses)]
    calls: list[int] = []

    def once(self: Runner, scenario: Scenario, seed: int) -> ScenarioRun:
        calls.append(seed)
        return ScenarioRun(result=queue.pop(0), history=[])

    monkeypatch.setattr(Runner, "_run_once", once)
    scenario = _scenario().model_copy(update={"reach_attempts": attempts})
    run = Runner(_Lab()).run(scenario, 1)
    assert run.result.status == want and len(calls) == runs and run.result.attempts == runs


@pytest.mark.parametrize("loaded", [True, False], ids=["idle-then-loaded", "no-load"])
def test_admission_replays_idle_then_under_load_and_keeps_goals_met_in_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loaded: bool
) -> None:
    """A goal met in every loaded replay but missed on the idle host (a burst done before its kill) is
    dropped: the entry claims only what it reaches on both. `--no-load`: the idle replays alone."""
    root = tmp_path / "corpus"
    save(root, _scenario(), header(_entry("e", [], 9.0)))
    write_index(root, CorpusIndex(entries=[_entry("e", [], 9.0)]))
    loads: list[bool] = []
    under_load = [False]

    class _Stress:
        def __init__(self, *_: object) -> None:
            pass

        def __enter__(self) -> None:
            under_load[0] = True

        def __exit__(self, *_: object) -> None:
            under_load[0] = False

    def run_cases(args: object, cases: list[tuple[Scenario, int]], console: object, lab_factory: object,
                  finished: Callable[[Path, RunSummary], None]) -> int:
        loads.append(under_load[0])
        met = (True, True) if under_load[0] else (True, False)
        results = [_result(True, {"snapshot_written": 1}, met=met) for _ in cases]
        summary = RunSummary(run_id=f"r{len(loads)}", started=T0, duration_s=1.0, wait_s=0.0, ok=True,
                             results=results)
        finished(tmp_path / f"run-{len(loads)}", summary)
        return 0

    monkeypatch.setattr(admit_module, "Stress", _Stress)
    monkeypatch.setattr(admit_module, "run_cases", run_cases)
    args = SimpleNamespace(replays=2, load=loaded)
    console = Console(width=200, record=True)
    assert admit_module.admit(root, ["e"], args, console) == 0  # type: ignore[arg-type]
    [entry] = read_index(root).entries
    admission = entry.admitted
    assert admission is not None and admission.loaded == loaded and admission.idle == 2
    if loaded:
        assert loads == [False, True]  # idle first, then under stress-ng
        assert (admission.replays, admission.run_dir, admission.idle_run_dir) == (4, "run-2", "run-1")
        assert entry.unreliable_goals == [f"{GOAL_B.describe()}: met 2/4"]
        assert load(root, entry).goals == (GOAL_A,)
        assert "4/4 passed (2 idle, 2 under load)" in console.export_text()
    else:
        assert loads == [False] and (admission.replays, admission.idle_run_dir) == (2, None)
        assert entry.unreliable_goals == [f"{GOAL_B.describe()}: met 0/2"]


@pytest.mark.parametrize(
    ("met", "says"),
    [((True, True), "(goals met on run 3)"), ((True, False), "(goals missed in 3 runs)")],
    ids=["met-late", "never-met"],
)
def test_the_console_says_whether_the_last_try_met_its_goals(met: tuple[bool, bool], says: str) -> None:
    console = Console(width=200, record=True)
    print_result(console, _result(True, {}, met=met).model_copy(update={"attempts": 3}))
    assert says in console.export_text()

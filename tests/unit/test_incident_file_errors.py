"""Every bad value in an incident file is refused at load: one line naming the file, the YAML line and column,
the step (1-based, with its action) and the field with its allowed values, exit status 2 before any lab work
(no lab object, no run directory). What must still load: every catalogue scenario (test_scenario_files.py
round-trips each), every example incident, every explorer schedule (test_explore.py), and the values the
explorer draws for each fault kind."""

from __future__ import annotations

import inspect
import random
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from chaos_lab.cli import main as cli
from chaos_lab.explore.kinds import RULES
from chaos_lab.faults.registry import FAULTS
from chaos_lab.faults.toxic import BREAKING_TOXICS
from chaos_lab.scenarios.catalog import SCENARIOS
from chaos_lab.scenarios.file_format import ScenarioFileError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "incidents").glob("*.y*ml"))
HEAD = "name: t\ntier: 1\ndescription: d\ncheckers: [{name: no_lost_acks}]\nmethod:\n"  # a step is line 6
OK = "method: [{action: burst}]\n"


class Bad(NamedTuple):
    text: str
    field: str  # in the message, as the file's reader names it
    problem: str  # in the message: what is wrong and what is allowed
    line: int | None  # the YAML line the message points at
    suffix: str = ".yaml"


def step(body: str) -> str:
    return HEAD + f"- {{{body}}}\n"


def inject(kind: str, params: str = "", extra: str = "") -> str:
    return step(
        f"action: inject, name: f, kind: {kind}" + (f", params: {{{params}}}" if params else "") + extra
    )


def top(extra: str, checkers: str = "[{name: no_lost_acks}]") -> str:
    return f"name: t\ntier: 1\ndescription: d\ncheckers: {checkers}\n{OK}{extra}"


BAD: dict[str, Bad] = {
    # ---- checkers: params derived from each check() signature
    "misspelt checker param": Bad(
        top("", "[{name: availability, params: {recover_within: 20}}]"),
        "checker 1 (availability): params.recover_within",
        "unknown param 'recover_within' for checker 'availability' (params: recover_within_s",
        4,
    ),
    "checker param wrong type": Bad(
        top("", "[{name: availability, params: {recover_within_s: soon}}]"),
        "params.recover_within_s",
        "must be a finite number >= 0, got the string 'soon'",
        4,
    ),
    "checker param not finite": Bad(
        top("", "[{name: balance_fresh, params: {max_age_s: .inf}}]"), "params.max_age_s", "got inf", 4
    ),
    "checker bool param given a string": Bad(
        top("", "[{name: ledger_integrity, params: {expect_corruption: 'yes'}}]"),
        "checker 1 (ledger_integrity): params.expect_corruption",
        "valid boolean",
        4,
    ),
    "checker int param negative": Bad(
        top("", "[{name: fail_closed, params: {min_ops_in_window: -1}}]"),
        "params.min_ops_in_window",
        "must be an integer >= 0, got -1",
        4,
    ),
    "unknown checker": Bad(
        top("", "[{name: no_lost_ack}]"), "checker 1 (no_lost_ack): name", "unknown checker 'no_lost_ack'", 4
    ),
    # ---- fault params: each kind's Params model
    "leave_bytes negative": Bad(
        inject("disk_fill", "leave_bytes: -5"),
        "method step 1 (inject): params.leave_bytes",
        "must be an integer in 0..1_099_511_627_776 bytes, got -5",
        6,
    ),
    "leave_bytes a word": Bad(
        inject("disk_fill", 'leave_bytes: "zero"'), "params.leave_bytes", "got the string 'zero'", 6
    ),
    "leave_bytes huge": Bad(
        inject("disk_fill", "leave_bytes: 1.0e+30"), "params.leave_bytes", "got 1e+30", 6
    ),
    "leave_bytes 1e30 (a YAML string)": Bad(
        inject("disk_fill", "leave_bytes: 1e30"), "params.leave_bytes", "the string '1e30'", 6
    ),
    "percent 250": Bad(
        HEAD + "- action: inject\n  name: f\n  kind: disk_fill\n  params:\n    percent: 250\n",
        "method step 1 (inject): params.percent",
        "must be an integer in 0..100 %, got 250",
        10,
    ),
    "disk_fill two modes": Bad(
        inject("disk_fill", "percent: 50, leave_bytes: 0"), "params", "exactly one of bytes, percent", 6
    ),
    "disk_fill misspelt param": Bad(
        inject("disk_fill", "leave: 0"),
        "params.leave",
        "unknown param 'leave' for fault kind 'disk_fill' (params: bytes, percent, leave_bytes)",
        6,
    ),
    "toxic type latancy": Bad(
        inject("toxic", "type: latancy"),
        "method step 1 (inject): params.type",
        "Input should be 'latency', 'timeout'",
        6,
    ),
    "toxic type down (proxy_down is the kind)": Bad(
        inject("toxic", "type: down"), "params.type", "'slicer'", 6
    ),
    "toxic stream sideways": Bad(
        inject("toxic", "type: timeout, stream: sideways"), "params.stream", "'upstream' or 'downstream'", 6
    ),
    "toxic negative latency": Bad(
        inject("toxic", "type: latency, attributes: {latency: -100}"),
        "params.attributes",
        "attribute latency of a latency toxic must be an integer in 0..600_000 ms, got -100",
        6,
    ),
    "toxic attribute of another type": Bad(
        inject("toxic", "type: latency, attributes: {rate: 5}"),
        "params.attributes",
        "'rate' is not an attribute of a latency toxic (one of latency, jitter)",
        6,
    ),
    "toxic toxicity above 1": Bad(
        inject("toxic", "type: timeout, toxicity: 1.5"), "params.toxicity", "in 0..1, got 1.5", 6
    ),
    "kill with a made-up signal": Bad(
        inject("kill", "signal: SIGFOO"), "params.signal", "'SIGFOO' is not a signal", 6
    ),
    "kill an unknown service": Bad(
        inject("kill", "service: database"), "params.service", "'engine', 'broker' or 'toxiproxy'", 6
    ),
    "cpu_starve zero fraction": Bad(
        inject("cpu_starve", "cpu_fraction: 0"), "params.cpu_fraction", "> 0 and <= 1, got 0", 6
    ),
    "cpu_starve period Docker refuses": Bad(
        inject("cpu_starve", "period_s: 5.0"), "params.period_s", "in 0.001..1 s, got 5", 6
    ),
    "clock_fast infinite rate": Bad(inject("clock_fast", "rate: .inf"), "params.rate", "got inf", 6),
    "broker_ambiguity unknown mode": Bad(
        inject("broker_ambiguity", "mode: commit_then_lie"), "params.mode", "'commit_then_5xx'", 6
    ),
    "truncate_parquet path outside bars": Bad(
        inject("truncate_parquet", "symbol: ../x, timeframe: M1"), "params.symbol", "should match pattern", 6
    ),
    "fault with no params given one": Bad(
        inject("proxy_down", "seconds: 3"), "params.seconds", "(params: none)", 6
    ),
    "unknown fault kind": Bad(inject("diskfill"), "method step 1 (inject): kind", "unknown fault kind", 6),
    # ---- random_params: a key of the kind's Params, a float field, both ends valid
    "random_params unknown key": Bad(
        inject("tear_ledger_tail", extra=", random_params: {frac: {lo: 0.1, hi: 0.9}}"),
        "random_params.frac",
        "unknown param 'frac' for fault kind 'tear_ledger_tail' (params: fraction)",
        6,
    ),
    "random_params end out of bounds": Bad(
        inject("tear_ledger_tail", extra=", random_params: {fraction: {lo: 0.5, hi: 1.5}}"),
        "random_params.fraction",
        "in 0..1, got 1.5",
        6,
    ),
    "random_params on an integer param": Bad(
        inject("disk_fill", extra=", random_params: {leave_bytes: {lo: 0, hi: 100}}"),
        "random_params.leave_bytes",
        "is an integer; a random range draws a float",
        6,
    ),
    "random_params lo > hi": Bad(
        inject("tear_ledger_tail", extra=", random_params: {fraction: {lo: 0.9, hi: 0.1}}"),
        "random_params.fraction",
        "empty range: lo 0.9 is above hi 0.1",
        6,
    ),
    # ---- steps: bounded, finite
    "sleep negative": Bad(
        step("action: sleep, seconds: -6"), "method step 1 (sleep): seconds", "in 0..120 s, got -6", 6
    ),
    "sleep 1e9": Bad(step("action: sleep, seconds: 1.0e+9"), "seconds", "in 0..120 s, got 1e+09", 6),
    "sleep nan": Bad(
        step("action: sleep, seconds: .nan"), "seconds", "a finite number in 0..120 s, got nan", 6
    ),
    "sleep range inverted": Bad(
        step("action: sleep, seconds: {lo: 3, hi: 1}"),
        "method step 1 (sleep): seconds",
        "empty range: lo 3 is above hi 1",
        6,
    ),
    "sleep range not finite": Bad(
        step("action: sleep, seconds: {lo: 0, hi: .inf}"), "seconds.hi", "must be a finite number, got inf", 6
    ),
    "sleep range beyond bound": Bad(
        step("action: sleep, seconds: {lo: 1, hi: 500}"),
        "seconds",
        "both ends must be a finite number in 0..120",
        6,
    ),
    "wait_ops negative count": Bad(
        HEAD + "- {action: burst, background: true}\n- {action: wait_ops, count: -2}\n",
        "method step 2 (wait_ops): count",
        "an integer in 0..1000 ops, got -2",
        7,
    ),
    "huge burst": Bad(
        step("action: burst, count: 5000"), "method step 1 (burst): count", "1..200 signals", 6
    ),
    "burst count true": Bad(step("action: burst, count: true"), "count", "got True", 6),
    "burst count range inverted": Bad(
        step("action: burst, count: {lo: 9, hi: 2}"), "count", "empty range: lo 9 is above hi 2", 6
    ),
    "burst concurrency 0": Bad(step("action: burst, concurrency: 0"), "concurrency", "in 1..8, got 0", 6),
    "bad side": Bad(
        step("action: burst, count: 1, signals: [{symbol: EURUSD, side: HOLD, quantity: 1}]"),
        "method step 1 (burst): signals #1.side",
        "'BUY' or 'SELL'",
        6,
    ),
    "negative quantity": Bad(
        step("action: burst, count: 1, signals: [{symbol: EURUSD, side: BUY, quantity: -3}]"),
        "signals #1.quantity",
        "> 0",
        6,
    ),
    "timeout zero": Bad(
        HEAD + "- {action: burst, background: true}\n- {action: await_burst, timeout_s: 0}\n",
        "method step 2 (await_burst): timeout_s",
        "> 0 s and <= 300 s, got 0",
        7,
    ),
    "broker delay negative": Bad(
        step("action: broker_config, order_delay_s: -1"), "order_delay_s", "in 0..120 s, got -1", 6
    ),
    "ledger bytes huge": Bad(
        step("action: await_ledger_bytes, bytes: 99999999999"), "bytes", "0..1_073_741_824 bytes", 6
    ),
    "empty kill-switch reason": Bad(
        step("action: kill_switch, reason: ''"), "reason", "at least 1 character", 6
    ),
    "unknown step action": Bad(
        HEAD + "- {action: burst}\n- {action: explode}\n",
        "method step 2 (explode)",
        "unknown action 'explode' (one of burst, await_burst",
        7,
    ),
    "step without action": Bad(step("count: 3"), "method step 1", "missing required field 'action'", 6),
    "misspelt step field": Bad(
        step("action: burst, cuont: 3"),
        "method step 1 (burst): cuont",
        "unknown field 'cuont' (allowed: action, count",
        6,
    ),
    "heal before inject": Bad(
        step("action: heal, name: x"),
        "method step 1 (heal): name",
        "heals 'x', which no earlier step injects",
        6,
    ),
    "inject name with spaces": Bad(
        inject("proxy_down").replace("name: f", "name: my fault"),
        "method step 1 (inject): name",
        "pattern",
        6,
    ),
    "rollback step bad": Bad(
        top("rollback:\n- {action: broker_config, fail_next: -1}\n"),
        "rollback step 1 (broker_config): fail_next",
        "in 0..10000, got -1",
        7,
    ),
    # ---- top level
    "negative seed": Bad(top("seeds: [-3]\n"), "seeds #1", "must be an integer >= 0, got -3", 6),
    "no seeds": Bad(top("seeds: []\n"), "seeds", "must list at least one seed", 6),
    "fractional seed": Bad(top("seeds: [1, 2.5]\n"), "seeds #2", "got 2.5", 6),
    "bad tier": Bad(top("").replace("tier: 1", "tier: 7"), "tier", "an integer in 1..5, got 7", 2),
    "tier true": Bad(top("").replace("tier: 1", "tier: true"), "tier", "got True", 2),
    "too many reach attempts": Bad(
        top("reach_attempts: 9\n"), "reach_attempts", "less than or equal to 5", 6
    ),
    "bad name pattern": Bad(
        top("").replace("name: t", "name: Disk Full!"), "name", "should match pattern", 1
    ),
    "unknown top-level key": Bad(
        top("methd: []\n"), "methd", "unknown field 'methd' (allowed: name, tier", 6
    ),
    "missing description": Bad(
        "name: t\ntier: 1\ncheckers: [{name: no_lost_acks}]\n" + OK,
        "description",
        "missing required field 'description'",
        1,
    ),
    "verify_signals too many": Bad(top("verify_signals: 50\n"), "verify_signals", "in 0..10, got 50", 6),
    "unknown steady-state probe": Bad(
        top("steady_state: [engine_up]\n"), "steady_state #1", "'engine_ready'", 6
    ),
    # ---- YAML and JSON themselves
    "duplicate top-level key": Bad(top("tier: 2\n"), "", "duplicate key 'tier' (first given at line 2)", 6),
    "duplicate key in a step": Bad(
        step("action: sleep, seconds: 1, seconds: 2"),
        "",
        "duplicate key 'seconds' (first given at line 6)",
        6,
    ),
    "empty file": Bad("", "", "the file is empty", None),
    "only a comment": Bad("# nothing here\n", "", "the file is empty", None),
    "a list, not a mapping": Bad("- name: t\n", "", "expected a mapping of scenario fields, got list", 1),
    "YAML syntax": Bad("name: t\n  tier: [1\n", "", "mapping values are not allowed here", 2),
    "JSON syntax": Bad('{"name": ', "", "Expecting value", 1, ".json"),
    "JSON duplicate key": Bad(
        '{"name": "t",\n "tier": 1,\n "tier": 2}\n',
        "",
        "duplicate key 'tier' (first given at line 2)",
        3,
        ".json",
    ),
    "JSON bad value": Bad(
        '{"name": "t", "tier": 1, "description": "d", "checkers": [{"name": "no_lost_acks"}],\n'
        ' "method": [\n  {"action": "sleep", "seconds": -1}]}\n',
        "method step 1 (sleep): seconds",
        "got -1",
        3,
        ".json",
    ),
}


@pytest.fixture
def no_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to build a lab (one or several) fails the test: file errors come before lab work."""

    def boom(*_: Any, **__: Any) -> Any:
        pytest.fail("a lab was created for a bad file")

    monkeypatch.setattr("chaos_lab.lab.docker.DockerLab", boom)
    monkeypatch.setattr("chaos_lab.cli.session.LabPool", boom)


def _run(argv: list[str], reports: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = cli.main([*argv, "--reports", str(reports)])
    except SystemExit as exc:  # argparse's own refusals (a bad --seed)
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert not reports.exists() or not any(reports.iterdir()), "a run directory was created"
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return code, lines[0]


@pytest.mark.parametrize("case", BAD.values(), ids=list(BAD))
def test_bad_file_is_refused_at_load_in_one_line(
    case: Bad, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_lab: None
) -> None:
    path = tmp_path / f"incident{case.suffix}"
    path.write_text(case.text)
    with pytest.raises(ScenarioFileError) as exc:
        load_scenario(path)
    message = str(exc.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    assert case.field in message and case.problem in message, message
    if case.line is not None:
        assert f": line {case.line}, column " in message, message
        assert exc.value.line == case.line
    code, line = _run(["run", "--file", str(path)], tmp_path / "reports", capsys)
    assert code == 2 and line == f"chaos-lab: error: {message}"


CLI: dict[str, tuple[list[str], str]] = {
    "--file with --scenario": (["--scenario", "broker-timeout"], "cannot be combined with --scenario"),
    "--file with --tier": (["--tier", "2"], "cannot be combined with --tier"),
    "--file with a negative --seed": (["--seed", "-1"], "invalid seed -1"),
    "--file with --parallel 9": (["--parallel", "9"], "--parallel must be 1..8"),
}


@pytest.mark.parametrize("extra,problem", CLI.values(), ids=list(CLI))
def test_cli_refuses_file_with_conflicting_flags(
    extra: list[str], problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_lab: None
) -> None:
    path = tmp_path / "incident.yaml"
    path.write_text(top(""))
    load_scenario(path)  # the file itself is fine: the flags are what is refused
    code, line = _run(["run", "--file", str(path), *extra], tmp_path / "reports", capsys)
    assert code == 2 and problem in line and line.startswith("chaos-lab: error: ")


@pytest.mark.parametrize(
    "name,problem", [("missing.yaml", "no such file"), ("", "a directory, not a scenario file")]
)
def test_cli_refuses_a_file_that_is_not_there(
    name: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_lab: None
) -> None:
    path = tmp_path / name if name else tmp_path
    code, line = _run(["run", "--file", str(path)], tmp_path / "reports", capsys)
    assert code == 2 and line == f"chaos-lab: error: {path}: {problem}"


def test_over_forty_bad_inputs() -> None:
    assert len(BAD) + len(CLI) + 2 >= 40


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_incident_loads(path: Path) -> None:
    assert load_scenario(path).name == path.stem


def test_the_catalogue_is_valid_under_the_file_rules(tmp_path: Path) -> None:
    """The catalogue is built in Python (no file): its dumps must pass the same checks a file gets."""
    from chaos_lab.scenarios.file_format import dump_scenario

    for scenario in SCENARIOS:
        path = tmp_path / f"{scenario.name}.yaml"
        path.write_text(dump_scenario(scenario))
        assert load_scenario(path) == scenario


FAULTS = FAULTS


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_params_model_matches_the_constructor(kind: str) -> None:
    """Params names exactly what the constructor takes (broker_ambiguity's **extra: the broker's knob
    fields), with the same defaults: the model cannot drift from the behaviour it validates."""
    cls = FAULTS[kind]
    ctor = list(inspect.signature(cls.__init__).parameters.values())[2:]  # self, lab / api_url
    named = {p.name: p.default for p in ctor if p.kind is not inspect.Parameter.VAR_KEYWORD}
    fields = cls.Params.model_fields
    assert set(named) <= set(fields)
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in ctor):
        assert set(fields) == set(named)
    for name, default in named.items():
        if default is not inspect.Parameter.empty:  # Toxic's `attributes=None` means {}
            assert fields[name].get_default(call_default_factory=True) == (
                {} if name == "attributes" else default
            )


@pytest.mark.parametrize("kind", sorted(RULES))
def test_every_value_the_explorer_draws_is_valid(kind: str) -> None:
    model = FAULTS[kind].Params
    for seed in range(300):
        model.model_validate(RULES[kind].params(random.Random(seed)))
    for toxic in BREAKING_TOXICS:
        FAULTS["toxic"].Params.model_validate({**toxic, "stream": "upstream", "toxicity": 1.0})

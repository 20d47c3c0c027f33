"""The OpenAPI tells the truth: schemathesis fuzzes the real engine and fake broker (uvicorn on 127.0.0.1).

Every check is on (no 5xx, every status and body as declared, valid data accepted, invalid data rejected,
405 with `Allow`, ...). Bounded and reproducible: a fixed seed, derandomized generation, no example database,
MAX_EXAMPLES per operation and generation mode (about 1 100 cases per service, ~20 s). Each test prints its
case counts per operation (`pytest -s`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from support.processes import BrokerProcess, EngineProcess

MAX_EXAMPLES = 100
SEED = 1111

CONFIG = f"""
seed = {SEED}
continue-on-failure = true
suppress-health-check = ["too_slow", "filter_too_much", "data_too_large"]

[generation]
mode = "all"
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"

[checks]
enabled = true

[checks.positive_data_acceptance]
# Schema-valid input may still find nothing (404), hold a wrong token (403), be refused by risk (409) or by a
# full disk (507). Not 422: the schema must say everything the input validation checks.
expected-statuses = ["2xx", "403", "404", "409", "507"]

[[operations]]
include-name = "POST /backtest/run"
# fast < slow is a rule between two fields that JSON Schema cannot state; a run that overflows fails (422).
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "422", "507"]
"""



@pytest.fixture
def broker_proc(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A real fake broker with room for every order the fuzzer places."""
    proc = BrokerProcess(tmp_path / "broker.sqlite3", tmp_path, balance=1e12)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def fuzz(url: str) -> tuple[Counter[str], list[str], str]:
    """Run every phase schemathesis has against `url`: (cases per operation, failures, stop reason)."""
    schema = schemathesis.openapi.from_url(url + "/openapi.json", config=SchemathesisConfig.from_str(CONFIG))
    cases: Counter[str] = Counter()
    failures: list[str] = []
    stop = "no EngineFinished event"
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            label = event.recorder.label
            cases[label] += len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status != Status.SUCCESS and check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(f"{label} [{check.name}] {failure.title}: {failure.message}\n"
                                        f"    {check.failure_info.code_sample}")
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"schemathesis error: {getattr(event, 'info', event)!r}")
        elif isinstance(event, events.EngineFinished):
            stop = str(event.stop_reason)
    return cases, failures, stop


def check_service(name: str, url: str) -> None:
    cases, failures, stop = fuzz(url)
    print(f"\nschemathesis {name}: {sum(cases.values())} cases over {len(cases)} operations ({stop})")
    for label, n in sorted(cases.items()):
        print(f"  {n:5d}  {label}")
    assert stop == "completed", stop
    assert not failures, "\n".join(failures[:20])
    assert len(cases) >= 2 and all(cases.values()), cases  # it exercised the operations


@pytest.mark.timeout(900)
def test_engine_openapi_tells_the_truth(broker_proc: BrokerProcess, tmp_path: Path) -> None:
    proc = EngineProcess(tmp_path / "data", broker_proc.url, tmp_path)
    proc.start()
    try:
        proc.wait_reconciled()
        check_service("engine", proc.url)
    finally:
        proc.stop()


@pytest.mark.timeout(900)
def test_broker_openapi_tells_the_truth(broker_proc: BrokerProcess) -> None:
    check_service("broker", broker_proc.url)

"""The fake broker's own contract (chaos_lab/broker/contract.py): a correct record passes, each broken clause
is named, and the runner turns a broken one into a lab error, never a pass or an engine failure."""

from __future__ import annotations

from chaos_lab.broker import contract
from chaos_lab.models import BrokerAttempt, Observation, RunnerError, ScenarioResult
from chaos_lab.synthetic import ObservationBuilder


def _record() -> Observation:
    b = ObservationBuilder()
    b.signal(side="BUY", qty=3.0)
    b.signal(side="SELL", qty=1.0, symbol="GBPUSD")
    intent = b.signal(side="SELL", qty=1.0)
    b.broker_order("SOLAT-" + intent.hex, "EURUSD", "SELL", 1.0, duplicate=True)  # a retry, deduplicated
    return b.build()


def _attempt(obs: Observation, seq: int, coid: str, outcome: str) -> BrokerAttempt:
    ref = obs.broker_attempts[0]
    return BrokerAttempt(
        seq=seq,
        client_order_id=coid,
        received_at=ref.received_at,
        duplicate=outcome == "duplicate",
        outcome=outcome,
        body={},
    )  # type: ignore[arg-type]


def test_a_correct_record_keeps_the_contract() -> None:
    obs = _record()
    assert obs.broker_positions == {"EURUSD": 2.0, "GBPUSD": -1.0}
    assert contract.broken_clauses(obs) == []
    contract.verify(obs)
    assert contract.run_error(obs, None) is None
    assert contract.broken_clauses(Observation(scenario="empty")) == []  # nothing read: nothing broken


def test_positions_must_equal_the_signed_sum_of_filled_orders() -> None:
    obs = _record()
    obs.broker_positions["EURUSD"] = 3.0
    [clause] = contract.broken_clauses(obs)
    assert "positions differ from the sum of filled orders" in clause and "EURUSD" in clause


def test_at_most_one_order_per_client_order_id() -> None:
    obs = _record()
    twin = obs.broker_orders[0].model_copy(update={"broker_order_id": "B-twin", "quantity": 0.0})
    obs.broker_orders.append(twin)
    clauses = contract.broken_clauses(obs)
    assert any("several orders" in c and obs.broker_orders[0].client_order_id in c for c in clauses)


def test_every_order_has_a_filled_attempt_and_duplicates_refer_to_an_order() -> None:
    obs = _record()
    coid = obs.broker_orders[1].client_order_id
    obs.broker_attempts = [a for a in obs.broker_attempts if a.client_order_id != coid]
    [clause] = contract.broken_clauses(obs)
    assert "orders without a filled attempt" in clause and coid in clause

    obs = _record()
    obs.broker_attempts.append(_attempt(obs, 99, "SOLAT-nothing", "duplicate"))
    [clause] = contract.broken_clauses(obs)
    assert "duplicate attempts referring to no earlier order" in clause and "SOLAT-nothing" in clause

    obs = _record()
    obs.broker_attempts.append(_attempt(obs, 99, obs.broker_orders[0].client_order_id, "filled"))
    [clause] = contract.broken_clauses(obs)
    assert "filled by several attempts" in clause

    obs = _record()
    obs.broker_attempts.append(_attempt(obs, 99, "SOLAT-ghost", "filled"))
    [clause] = contract.broken_clauses(obs)
    assert "filled attempts without an order" in clause


def test_attempt_seq_strictly_increasing() -> None:
    obs = _record()
    obs.broker_attempts[2] = obs.broker_attempts[2].model_copy(update={"seq": obs.broker_attempts[1].seq})
    [clause] = contract.broken_clauses(obs)
    assert clause.startswith("attempt seq not strictly increasing")


def test_a_broken_clause_is_a_lab_error_never_a_pass_or_an_engine_failure() -> None:
    obs = _record()
    obs.broker_positions["EURUSD"] = 0.0
    error = contract.run_error(obs, None)
    assert error is not None and error.line.startswith("collect: BrokerContractBroken: positions differ")
    assert (error.phase, error.cause, error.judges_engine) == ("collect", "BrokerContractBroken", False)
    assert RunnerError.parse(error.line) == error  # a summary written with only the line reads back the same
    started = obs.broker_attempts[0].received_at
    result = ScenarioResult(
        scenario="s",
        tier=1,
        seed=1,
        ok=False,
        started=started,
        duration_s=1.0,
        wait_s=0.0,
        verdicts=[],
        error=error.line,
        runner_error=error,
    )
    assert result.status == "runner_error"
    # after an error where the engine did not come back, a broken contract still makes the run judge nothing
    first = RunnerError(phase="recover", cause="WaitTimeout", message="x")
    assert first.judges_engine
    both = contract.run_error(obs, first)
    assert both is not None and both.line.startswith("recover: WaitTimeout: x; collect: BrokerContractBroken")
    assert not both.judges_engine and RunnerError.parse(both.line) == both
    try:
        contract.verify(obs)
    except contract.BrokerContractBroken as exc:
        assert "positions differ" in str(exc)
    else:
        raise AssertionError("verify passed a broken record")


def test_a_seeded_order_needs_no_attempt_but_must_not_be_filled_again() -> None:
    """Orders in the book before the run (a start from captured data) have no attempt of this run; a re-send
    of one is a duplicate attempt, and a second fill of one breaks the contract."""
    obs = _record()
    seeded = obs.broker_orders[0].model_copy(
        update={
            "client_order_id": "SOLAT-old",
            "broker_order_id": "B-old",
            "seeded": True,
            "side": "BUY",
            "quantity": 1.0,
        }
    )
    obs.broker_orders.append(seeded)
    obs.broker_positions = {**obs.broker_positions, seeded.symbol: obs.broker_positions[seeded.symbol] + 1.0}
    next_seq = obs.broker_attempts[-1].seq + 1
    obs.broker_attempts.append(_attempt(obs, next_seq, "SOLAT-old", "duplicate"))
    assert contract.broken_clauses(obs) == []
    obs.broker_attempts.append(_attempt(obs, next_seq + 1, "SOLAT-old", "filled"))
    assert contract.broken_clauses(obs) == ["1 seeded orders filled again (first SOLAT-old)"]


def test_one_rule_says_whether_a_runner_error_judges_the_engine() -> None:
    """The explorer, the self-test and the report use these two properties, never the error's text."""
    boom = RuntimeError("no answer in 120s")
    assert RunnerError.of("verify", boom).judges_engine and not RunnerError.of("verify", boom).not_started
    assert RunnerError.of("recover", boom).judges_engine
    for phase in ("reset", "steady-state"):
        e = RunnerError.of(phase, boom)
        assert e.not_started and not e.judges_engine
    assert not RunnerError.of("method", boom).judges_engine
    healed = RunnerError.lab(RunnerError.of("verify", boom), "heal", "HealFailed", "toxic still on")
    assert (
        not healed.judges_engine
        and healed.line == "verify: RuntimeError: no answer in 120s; heal failed: toxic still on"
    )
    alone = RunnerError.lab(None, "heal", "HealFailed", "toxic still on")
    assert alone.line == "heal failed: toxic still on" and RunnerError.parse(alone.line) == alone

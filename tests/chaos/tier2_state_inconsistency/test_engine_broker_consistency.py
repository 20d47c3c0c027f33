"""Tier 2: the engine and the broker disagree (a lost ack, a timed-out order, a stale snapshot, a kill-switch
file changed behind the engine's back, an order placed outside the engine) and the engine must end up
consistent with the broker, exactly once, or stop trading and say why."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from support.fixtures import broker_server, engine_factory  # noqa: F401  (fixtures)
from support.ledger_file import open_intents, positions, read_ledger, types_by_intent
from support.processes import BrokerProcess, EngineProcess

pytestmark = [pytest.mark.chaos, pytest.mark.tier2]


def coid(intent_id: str) -> str:
    return "SOLAT-" + uuid.UUID(intent_id).hex


def wait_for(predicate, timeout: float = 15.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def test_broker_filled_but_ack_never_recorded__reconciled_exactly_once(
    broker_server: BrokerProcess, engine_factory, tmp_path: Path  # noqa: F811
) -> None:
    data = tmp_path / "data"
    # The engine would wait 10 s for the answer; the broker holds it 5 s; the engine dies in between.
    engine: EngineProcess = engine_factory(data, broker_server.url, SOLAT_BROKER_READ_TIMEOUT="10").start()
    engine.wait_reconciled()
    broker_server.configure(order_delay_s=5.0)
    intent_id = str(uuid.uuid4())
    errors: list[BaseException] = []

    def send() -> None:
        try:
            engine.signal(quantity=3, intent_id=intent_id, timeout=15)
        except requests.RequestException as exc:
            errors.append(exc)

    client = threading.Thread(target=send)
    client.start()
    wait_for(lambda: len(broker_server.attempts()) == 1, what="the order to reach the broker")
    engine.kill()  # SIGKILL while the broker still holds the (already committed) fill
    client.join(timeout=20)
    assert errors, "the client must have lost its connection to the killed engine"
    assert types_by_intent(read_ledger(data))[intent_id] == ["intent"]  # ack never recorded
    broker_server.configure(order_delay_s=0.0)

    engine.start()
    state = engine.wait_reconciled()
    records = read_ledger(data)
    assert types_by_intent(records)[intent_id] == ["intent", "reconciled"]
    reconciled = records[-1]
    assert reconciled["payload"]["source"] == "reconcile"
    assert reconciled["payload"]["client_order_id"] == coid(intent_id)
    assert state["positions"] == {"EURUSD": 3.0} == broker_server.positions() == positions(records)
    assert state["open_intents"] == [] and state["kill_switch"]["active"] is False
    assert len(broker_server.attempts()) == 1

    before = (data / "ledger" / "ledger.log").read_bytes()
    engine.restart()
    again = engine.wait_reconciled()
    assert (data / "ledger" / "ledger.log").read_bytes() == before, "second restart must add nothing"
    assert again["positions"] == {"EURUSD": 3.0}
    # the retry of the same intent by the client is answered from the ledger, not re-sent
    retry = engine.signal(quantity=3, intent_id=intent_id)
    assert retry.status_code == 200 and retry.json()["outcome"] == "filled"
    assert len(broker_server.attempts()) == 1


@pytest.mark.parametrize("fault", ["read_timeout", "broker_503"])
def test_retry_after_broker_timeout__exactly_one_broker_order(
    fault: str, broker_server: BrokerProcess, engine_factory, tmp_path: Path  # noqa: F811
) -> None:
    engine: EngineProcess = engine_factory(tmp_path / "data", broker_server.url).start()  # read timeout 0.5
    engine.wait_reconciled()
    if fault == "read_timeout":
        broker_server.configure(order_delay_s=1.5)
    else:
        broker_server.configure(fail_next=1)
    intent_id = str(uuid.uuid4())
    first = engine.signal(quantity=2, intent_id=intent_id)
    assert first.status_code == 202, first.text
    assert first.json()["outcome"] == "unknown" and first.json()["client_order_id"] == coid(intent_id)
    assert engine.state()["open_intents"] == [intent_id]
    broker_server.configure(order_delay_s=0.0)

    for _ in range(2):  # the client retries the same intent (twice, to show the answer is stable)
        retry = engine.signal(quantity=2, intent_id=intent_id)
        assert retry.status_code == 200, retry.text
        assert retry.json()["outcome"] == "filled"
    orders = broker_server.orders()
    assert [o["client_order_id"] for o in orders] == [coid(intent_id)]
    assert retry.json()["broker_order_id"] == orders[0]["broker_order_id"]
    attempts = [(a["client_order_id"], a["outcome"]) for a in broker_server.attempts()]
    if fault == "read_timeout":
        assert attempts == [(coid(intent_id), "filled")]  # resolved by lookup, never re-sent
    else:
        # the broker never recorded the 503'd order: re-sent once under the SAME client_order_id
        assert attempts == [(coid(intent_id), "failed"), (coid(intent_id), "filled")]
    state = engine.state()
    assert state["positions"] == {"EURUSD": 2.0} == broker_server.positions()
    assert state["open_intents"] == []
    records = read_ledger(tmp_path / "data")
    assert types_by_intent(records)[intent_id] == ["intent", "unknown", *(
        ["fill"] if fault == "read_timeout" else ["submitted", "fill"])]


def _write_kill_switch_file(data: Path, state: dict) -> None:
    """What an operator (or another process) leaves in the file (atomic rename, the engine is running)."""
    path = data / "kill_switch.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)


@pytest.mark.parametrize("file_active", [True, False], ids=["file_active", "file_inactive"])
def test_kill_switch_file_wins_over_memory_on_restore(
    file_active: bool, broker_server: BrokerProcess, engine_factory, tmp_path: Path  # noqa: F811
) -> None:
    data = tmp_path / "data"
    engine: EngineProcess = engine_factory(data, broker_server.url).start()
    engine.wait_reconciled()
    if file_active:
        _write_kill_switch_file(data, {"active": True, "reason": "halted by operator file",
                                       "activated_at": "2026-01-01T00:00:00Z"})
        assert engine.get("/execution/kill-switch").json()["active"] is False  # memory disagrees
    else:
        engine.post("/execution/kill-switch/activate", json={"reason": "in memory"})
        _write_kill_switch_file(data, {"active": False, "reason": None, "activated_at": None})
        assert engine.get("/execution/kill-switch").json()["active"] is True  # memory disagrees
    engine.kill()
    engine.start()
    engine.wait_reconciled()
    ks = engine.get("/execution/kill-switch").json()
    assert ks["active"] is file_active
    resp = engine.signal()
    if file_active:
        assert ks["reason"] == "halted by operator file"
        assert resp.status_code == 409 and "halted by operator file" in resp.json()["reason"]
        assert broker_server.attempts() == []
    else:
        assert resp.status_code == 200, resp.text


def test_snapshot_older_than_ledger__ledger_wins(
    broker_server: BrokerProcess, engine_factory, tmp_path: Path  # noqa: F811
) -> None:
    data = tmp_path / "data"
    snapshot = data / "snapshots" / "positions.json"
    fast = engine_factory(data, broker_server.url, SOLAT_SNAPSHOT_INTERVAL="0.1").start()
    fast.wait_reconciled()
    assert fast.signal(quantity=1).status_code == 200

    def snapshot_seq() -> int:
        try:
            return json.loads(snapshot.read_text())["last_seq"]
        except (OSError, ValueError, KeyError):
            return -1

    wait_for(lambda: snapshot_seq() == len(read_ledger(data)), what="a snapshot of the first fill")
    fast.stop()
    slow = engine_factory(data, broker_server.url, SOLAT_SNAPSHOT_INTERVAL="3600").start()
    slow.wait_reconciled()
    assert slow.signal(quantity=4, side="SELL").status_code == 200
    slow.kill()  # SIGKILL: no final snapshot, so the snapshot on disk is now older than the ledger
    stale = json.loads(snapshot.read_text())
    records = read_ledger(data)
    assert stale["last_seq"] < len(records) and stale["positions"] == {"EURUSD": 1.0}

    slow.start()
    state = slow.wait_reconciled()
    assert state["positions"] == {"EURUSD": -3.0} == positions(records) == broker_server.positions()
    assert state["kill_switch"]["active"] is False  # no false drift from the stale snapshot


def test_position_drift__kill_switch_trips_with_difference(
    broker_server: BrokerProcess, engine_factory, tmp_path: Path  # noqa: F811
) -> None:
    engine: EngineProcess = engine_factory(tmp_path / "data", broker_server.url).start()
    engine.wait_reconciled()
    assert engine.signal(quantity=1).status_code == 200
    broker_server.place("MANUAL-1", "EURUSD", "BUY", 2)  # behind the engine's back
    broker_server.place("MANUAL-2", "GBPUSD", "SELL", 5)
    engine.restart()
    state = engine.wait_reconciled()
    ks = state["kill_switch"]
    assert ks["active"] is True
    assert "EURUSD: engine=1 broker=3 (diff +2)" in ks["reason"]
    assert "GBPUSD: engine=0 broker=-5 (diff -5)" in ks["reason"]
    resp = engine.signal()
    assert resp.status_code == 409 and "position drift" in resp.json()["reason"]
    assert len(broker_server.orders()) == 3
    assert open_intents(read_ledger(tmp_path / "data")) == set()

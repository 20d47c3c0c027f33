"""Tier 4: SIGKILL the engine process (idle, or mid-workload at a seeded random point) and restart it: the
kill switch, positions and open intents come back from disk, nothing acknowledged is lost, no intent reaches
the broker twice, and after reconcile the engine agrees with the broker."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests
from support.fixtures import broker_server, engine_factory  # noqa: F401  (fixtures)
from support.ledger_file import TERMINAL_TYPES, open_intents, positions, read_ledger, types_by_intent
from support.processes import BrokerProcess, EngineProcess

pytestmark = [pytest.mark.chaos, pytest.mark.tier4]

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")
THREADS = 6
SIGNALS_PER_THREAD = 8


def test_kill_switch_active_survives_sigkill(
    broker_server: BrokerProcess, engine_factory, tmp_path: Path  # noqa: F811
) -> None:
    engine: EngineProcess = engine_factory(tmp_path / "data", broker_server.url).start()
    engine.wait_reconciled()
    resp = engine.post("/execution/kill-switch/activate", json={"reason": "risk desk halt #42"})
    assert resp.status_code == 200 and resp.json()["active"] is True
    engine.kill()
    engine.start()
    ks = engine.get("/execution/kill-switch").json()
    assert ks["active"] is True and ks["reason"] == "risk desk halt #42" and ks["activated_at"]
    engine.wait_reconciled()
    refused = engine.signal()
    assert refused.status_code == 409 and "risk desk halt #42" in refused.json()["reason"]
    health = engine.health()
    assert health["status"] == "degraded" and health["checks"]["kill_switch"] is False
    assert broker_server.attempts() == []


class Workload:
    """Bounded burst: THREADS threads x SIGNALS_PER_THREAD signals, each with its own intent_id."""

    def __init__(self, engine: EngineProcess, seed: int) -> None:
        self.engine = engine
        self.seed = seed
        self.acked: set[str] = set()
        self.answers: Counter[int | str] = Counter()
        self._lock = threading.Lock()

    def _run(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        for _ in range(SIGNALS_PER_THREAD):
            intent_id = str(uuid.uuid4())
            try:
                resp = self.engine.signal(symbol=rng.choice(SYMBOLS), side=rng.choice(("BUY", "SELL")),
                                          quantity=float(rng.randint(1, 5)), intent_id=intent_id, timeout=10)
            except requests.RequestException:
                with self._lock:
                    self.answers["connection lost"] += 1
                return  # the engine is dead: this client stops
            with self._lock:
                self.answers[resp.status_code] += 1
                if resp.status_code == 200:
                    self.acked.add(intent_id)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(THREADS)]
        for t in threads:
            t.start()
        return threads


@pytest.mark.parametrize("seed", [7, 2026])
def test_sigkill_mid_workload__replay_and_reconcile_consistent(
    seed: int, broker_server: BrokerProcess, engine_factory, tmp_path: Path  # noqa: F811
) -> None:
    data = tmp_path / "data"
    rng = random.Random(seed)
    kill_after = rng.randint(4, THREADS * SIGNALS_PER_THREAD // 2)  # the random point: after this many acks
    broker_server.configure(order_delay_s=0.02)  # keeps orders in flight when the kill lands
    engine: EngineProcess = engine_factory(data, broker_server.url).start()
    engine.wait_reconciled()

    load = Workload(engine, seed)
    threads = load.start()
    deadline = time.monotonic() + 60
    while len(load.acked) < kill_after and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(load.acked) >= kill_after, f"workload too slow: {load.answers}"
    engine.kill()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)

    at_kill = read_ledger(data, allow_torn_tail=True)
    by_intent = types_by_intent(at_kill)
    for intent_id in load.acked:  # acknowledged => durable fill before the 200 left the engine
        assert "fill" in by_intent.get(intent_id, []), f"acked intent {intent_id} missing from the ledger"
    open_at_kill = open_intents(at_kill)
    print(f"seed={seed} kill_after={kill_after} answers={dict(load.answers)} open={len(open_at_kill)}")

    # Restart with the broker down: what the engine shows now comes from replay alone.
    broker_server.kill()
    engine.start()
    state = engine.state()
    assert state["reconciled"] is False
    assert set(state["open_intents"]) == open_at_kill
    assert state["positions"] == positions(at_kill)
    assert engine.signal().status_code == 409  # no new order before reconcile
    assert engine.health()["checks"]["broker"] is False

    broker_server.start()  # same database and port: reconcile retries in the background
    final = engine.wait_reconciled()
    after = read_ledger(data)
    assert after[: len(at_kill)] == at_kill, "replay/recovery must not rewrite acknowledged history"
    added = after[len(at_kill):]
    assert sorted(r["intent_id"] for r in added) == sorted(open_at_kill)  # one record per open intent
    assert {r["entry_type"] for r in added} <= {"reconciled", "not_sent"}
    assert final["open_intents"] == [] and open_intents(after) == set()

    # No intent reached the broker twice, and nothing reached it without a durable intent record.
    attempts = broker_server.attempts()
    first_orders = Counter(a["client_order_id"] for a in attempts if a["outcome"] == "filled")
    assert all(n == 1 for n in first_orders.values()), first_orders
    ledger_coids = {r["payload"]["client_order_id"] for r in after if r["entry_type"] == "intent"}
    assert set(first_orders) <= ledger_coids
    for intent_id, types in types_by_intent(after).items():
        terminal = [t for t in types if t in TERMINAL_TYPES]
        assert len(terminal) == 1, f"intent {intent_id}: {types}"
    assert final["positions"] == positions(after) == broker_server.positions()
    assert final["kill_switch"]["active"] is False

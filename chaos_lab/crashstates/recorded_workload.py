"""The recorded workload: a bar write, concurrent signals, a pause long enough for a position snapshot to
land, a kill-switch activation and its reset, more concurrent signals. Seeded: the same seed sends the same
intents (ids, symbols, sides, sizes) in the same batches; the interleaving inside a batch is whatever the
engine does, and the trace records it.

The pause puts a snapshot between the batches, so the crash points of the second batch leave a snapshot
behind the ledger: the state in which a recovery that trusts its checkpoint over its log loses fills (without
it the only snapshot came after the last signal, and such a recovery passed every state)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from chaos_lab.workload.client import EngineClient
from chaos_lab.workload.history import History

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")
CONCURRENCY = 4
TOKEN = "crashstates-token"


def kill_switch_reason(seed: int) -> str:
    return f"crashstates drill (seed {seed})"


def plan_signals(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "intent_id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "symbol": rng.choice(SYMBOLS),
            "side": rng.choice(("BUY", "SELL")),
            "quantity": float(rng.randint(1, 20)),
        }
        for _ in range(count)
    ]


def bars(seed: int, n: int = 60) -> list[dict[str, Any]]:
    rng = random.Random(seed + 1)
    start = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    out, price = [], 100.0
    for i in range(n):
        price += rng.uniform(-1, 1)
        out.append(
            {
                "ts": (start + timedelta(minutes=i)).isoformat(),
                "open": price,
                "high": price + 0.5,
                "low": price - 0.5,
                "close": price + 0.1,
                "volume": float(rng.randint(100, 5000)),
            }
        )
    return out


def _batch(base_url: str, history: History, signals: list[dict[str, Any]]) -> None:
    def send(chunk: list[dict[str, Any]]) -> None:
        client = EngineClient(base_url, history)  # one session per thread
        for s in chunk:
            client.submit(s["symbol"], s["side"], s["quantity"], intent_id=s["intent_id"])

    chunks = [signals[i::CONCURRENCY] for i in range(CONCURRENCY)]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(send, [c for c in chunks if c]))


def run_workload(
    base_url: str, seed: int, signals: int, between_batches: Callable[[], None] = lambda: None
) -> History:
    """Drive the engine; every request is in the returned history (what the client saw).
    `between_batches` runs after the first half of the signals (the recorder waits there for a snapshot)."""
    history = History("crashstates", seed)
    client = EngineClient(base_url, history)
    client.put_bars("EURUSD", "M1", bars(seed))
    plan = plan_signals(seed, signals)
    half = (len(plan) + 1) // 2
    _batch(base_url, history, plan[:half])
    between_batches()
    client.activate_kill_switch(kill_switch_reason(seed))
    invoke = history.record("setup", "invoke", "kill_switch_reset")
    resp = requests.post(base_url + "/execution/kill-switch/reset", json={"token": TOKEN}, timeout=10)
    history.record(
        "setup",
        "ok" if resp.status_code == 200 else "fail",
        "kill_switch_reset",
        status_code=resp.status_code,
        latency=history.now() - invoke.time,
    )
    _batch(base_url, history, plan[half:])
    return history

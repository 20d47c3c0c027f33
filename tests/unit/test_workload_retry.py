"""A client retries an in-doubt signal under the same intent id, with a short backoff, until the engine
itself answers: a refused connection (engine restarting) leaves the first attempt in doubt."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from chaos_lab.scenarios.model import Burst, Signal
from chaos_lab.workload.bursts import BurstClients


class ScriptedClient:
    def __init__(self, answers: list[tuple[str, dict[str, Any]]]) -> None:
        self.answers, self.calls = answers, []

    def submit(self, symbol: str, side: str, quantity: float, intent_id: uuid.UUID | None = None) -> Any:
        intent_id = intent_id or uuid.uuid4()
        self.calls.append(intent_id)
        outcome, body = self.answers.pop(0)
        return outcome, intent_id, body


def _run(answers: list[tuple[str, dict[str, Any]]], retries: int) -> ScriptedClient:
    client = ScriptedClient(answers)
    step = Burst(count=1, signals=(Signal(symbol="EURUSD", side="BUY", quantity=1),), retry_unknown=retries)
    BurstClients(client, step, None, threading.Event()).run()  # type: ignore[arg-type]
    return client


def test_retries_through_a_restart_until_the_engine_answers() -> None:
    refused = ("fail", {"reason": "ConnectionError: refused"})
    client = _run([("info", {}), refused, refused, ("ok", {"intent_id": "x"}), ("ok", {})], retries=5)
    assert len(client.calls) == 4 and len(set(client.calls)) == 1  # same intent id every time, stops at ok


def test_a_definite_answer_ends_the_doubt() -> None:
    client = _run([("info", {}), ("fail", {"intent_id": "x", "reason": "not sent"}), ("ok", {})], retries=5)
    assert len(client.calls) == 2
    assert len(_run([("fail", {"intent_id": "x"}), ("ok", {})], retries=5).calls) == 1  # never in doubt
    assert len(_run([("info", {}), ("info", {}), ("info", {})], retries=2).calls) == 3  # bounded

"""A broker that commits the order and then fails: per-order knobs of the fake broker (broker/ambiguity.py).

Modes: `commit_then_5xx` (filled, answered 503), `commit_then_drop` (filled, connection closed mid-answer),
`commit_then_late` (filled, answered after the engine's read timeout), `partial_fill` (IOC: part filled, the
rest cancelled). Unlike `fail_next`, the order exists at the broker: an engine that takes the 5xx as a
rejection, or never learns the fill, now loses an order. Heal turns the knob off (orders stay)."""

from __future__ import annotations

from typing import Any

import requests

from chaos_lab.faults.base import Fault, FaultError

TIMEOUT = (2.0, 5.0)


class BrokerAmbiguity(Fault):
    kind = "broker_ambiguity"

    def __init__(
        self, lab: Any, mode: str = "commit_then_5xx", probability: float = 0.3, seed: int = 1, **extra: Any
    ) -> None:
        super().__init__(mode=mode, probability=probability, seed=seed, **extra)
        self.url = lab.urls()["broker"].rstrip("/") + "/admin/config"
        self.knob = {"mode": mode, "probability": probability, "seed": seed, **extra}

    def _set(self, knob: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = requests.post(self.url, json={"ambiguity": knob}, timeout=TIMEOUT)
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise FaultError(f"broker knob {knob} refused: {exc}") from exc
        return dict(resp.json())

    def inject(self) -> dict[str, Any]:
        config = self._set(self.knob)
        return {"ambiguity": config.get("ambiguity")}

    def heal(self) -> None:
        self._set({**self.knob, "probability": 0.0})

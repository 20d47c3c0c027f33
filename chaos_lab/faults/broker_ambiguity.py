"""A broker that commits the order and then fails: per-order knobs of the fake broker (broker/ambiguity.py).

Modes: `commit_then_5xx` (filled, answered 503), `commit_then_drop` (filled, connection closed mid-answer),
`commit_then_late` (filled, answered after the engine's read timeout), `partial_fill` (IOC: part filled, the
rest cancelled). Unlike `fail_next`, the order exists at the broker: an engine that takes the 5xx as a
rejection, or never learns the fill, now loses an order. Heal turns the knob off (orders stay)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import requests

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab

TIMEOUT = (2.0, 5.0)


class BrokerAmbiguity(Fault):
    kind = "broker_ambiguity"
    explore = ExploreRule(
        lambda r: {
            "mode": r.choice(["commit_then_5xx", "commit_then_drop", "commit_then_late", "partial_fill"]),
            "probability": r.choice([0.3, 0.6]),
            "seed": r.randint(1, 10_000),
        },
        (1.0, 4.0),
        "broker",
    )
    effects = frozenset({Effect.BROKER_AMBIGUOUS})
    goals = (goal("broker_knob_hit", why="the broker's ambiguity knob fired on an order"),)

    class Params(FaultParams):
        """The fake broker's knob (broker/ambiguity.py AmbiguityConfig): the same names and bounds, so the
        broker never refuses at inject what the file was allowed to say."""

        mode: Literal["commit_then_5xx", "commit_then_drop", "commit_then_late", "partial_fill"] = (
            "commit_then_5xx"
        )
        probability: Annotated[float, Between(0.0, 1.0)] = 0.3
        seed: Annotated[int, Between(0, 2**31 - 1, integer=True)] = 1
        late_s: Annotated[float, Between(0.0, 60.0, " s")] = 5.0
        fill_fraction: Annotated[float, Between(0.0, 1.0, lo_open=True, hi_open=True)] = 0.5

    def __init__(
        self, lab: Lab, mode: str = "commit_then_5xx", probability: float = 0.3, seed: int = 1, **extra: Any
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

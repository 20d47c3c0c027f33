"""From a scenario and a seed to a concrete plan: `random.Random(seed)` decides every burst's signals,
where in
the burst a fault strikes, how long it lasts and which byte a file fault hits. Same scenario + seed,
same plan:
an incident can be replayed exactly.
"""

from __future__ import annotations

import random

from chaos_lab.scenarios.model import (
    Burst,
    FloatRange,
    Inject,
    IntRange,
    Plan,
    Scenario,
    Signal,
    Sleep,
    Step,
    WaitBrokerOrders,
    WaitLedgerBytes,
    WaitOps,
)


def _int(value: int | IntRange, rng: random.Random) -> int:
    return rng.randint(value.lo, value.hi) if isinstance(value, IntRange) else value


def _float(value: float | FloatRange, rng: random.Random) -> float:
    return round(rng.uniform(value.lo, value.hi), 3) if isinstance(value, FloatRange) else value


def _resolve(step: Step, rng: random.Random) -> Step:
    if isinstance(step, Burst) and step.signals:  # an explicit plan (an incident or explore file): as written
        return step
    if isinstance(step, Burst):
        count = _int(step.count, rng)
        signals = tuple(
            Signal(
                symbol=rng.choice(step.symbols),
                side=rng.choice(("BUY", "SELL")),
                quantity=float(rng.randint(1, step.max_quantity)),
            )
            for _ in range(count)
        )
        return step.model_copy(update={"count": count, "signals": signals})
    if isinstance(step, WaitOps | WaitBrokerOrders):
        return step.model_copy(update={"count": _int(step.count, rng)})
    if isinstance(step, WaitLedgerBytes):
        return step.model_copy(update={"bytes": _int(step.bytes, rng)})
    if isinstance(step, Sleep):
        return step.model_copy(update={"seconds": _float(step.seconds, rng)})
    if isinstance(step, Inject) and step.random_params:
        params = {**step.params, **{k: _float(r, rng) for k, r in sorted(step.random_params.items())}}
        return step.model_copy(update={"params": params, "random_params": {}})
    return step


def plan(scenario: Scenario, seed: int) -> Plan:
    rng = random.Random(seed)
    return Plan(scenario=scenario.name, seed=seed, steps=tuple(_resolve(s, rng) for s in scenario.method))

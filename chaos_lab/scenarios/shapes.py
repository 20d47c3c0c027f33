"""Method shapes the catalogue modules share (catalog.py, real_faults.py): one place to read what "the fault
strikes mid-burst" means."""

from __future__ import annotations

from typing import Any

from chaos_lab.scenarios.model import (
    AwaitBurst,
    BrokerConfig,
    Burst,
    FloatRange,
    Heal,
    Inject,
    IntRange,
    Sleep,
    Step,
    WaitOps,
)

FAULT_S = FloatRange(lo=1.0, hi=2.0)


def slow_broker(delay_s: float) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """The steps that make the broker answer `delay_s` late and the ones that make it prompt again (also the
    scenario's rollback); both empty for 0."""
    if not delay_s:
        return (), ()
    return (BrokerConfig(order_delay_s=delay_s),), (BrokerConfig(),)


def during_burst(
    name: str,
    kind: str,
    params: dict[str, Any] | None = None,
    count: int = 30,
    hit_after: IntRange = IntRange(lo=3, hi=8),
    hold: FloatRange = FAULT_S,
    concurrency: int = 1,
    interval_s: float = 0.05,
    retry_unknown: int = 0,
    broker_delay_s: float = 0.0,
) -> tuple[Step, ...]:
    """A background burst; once `hit_after` signals completed the fault strikes, holds, heals; burst
    finishes. `retry_unknown`: clients resend an in-doubt signal under the same intent id.
    `broker_delay_s`: the broker answers that late while the fault holds, so the fault lands while orders
    are in flight inside the engine, not while requests queue at its door (roll back: `BrokerConfig()`)."""
    slow, prompt = slow_broker(broker_delay_s)
    return (
        Burst(
            count=count,
            interval_s=interval_s,
            background=True,
            concurrency=concurrency,
            retry_unknown=retry_unknown,
        ),
        WaitOps(count=hit_after),
        *slow,
        Inject(name=name, kind=kind, params=params or {}),
        Sleep(seconds=hold),
        Heal(name=name),
        *prompt,
        AwaitBurst(),
    )

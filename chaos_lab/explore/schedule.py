"""Random fault schedules from (seed, index): a longer concurrent workload whose clients retry in-doubt
signals under the same intent id, an operator who activates and resets the kill switch at random moments, and
1-4 faults from every explorable kind, in sequence (after one heals), overlapping (the next strikes while the
first holds: timeout then SIGKILL, disk full then kill then free) or right after a heal (kill during
recovery, reset_peer during start-up reconcile).

A `Schedule` is structured so the shrinker can remove a fault or shorten a hold; `render()` turns it into a
concrete `Scenario` (signals listed, every parameter fixed), which is what is written to a file and run.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chaos_lab.explore.kinds import RULES
from chaos_lab.scenarios.model import Signal

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")
Relation = Literal["later", "overlap", "after_heal"]
TriggerKind = Literal["ops", "broker_orders", "ledger_bytes", "sleep"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trigger(_M):
    kind: TriggerKind
    value: float  # ops / orders / bytes to wait for, or seconds


class FaultSpec(_M):
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    relation: Relation = "later"  # to the previous fault
    trigger: Trigger = Trigger(kind="sleep", value=0.5)  # when relation == "later"
    delay_s: float = 0.0  # when relation == "after_heal": how soon after the heal (in recovery)
    hold_s: float = 1.0
    lifo: bool = False  # overlapping: this one is healed before the one it overlaps
    heal_gap_s: float = (
        0.0  # after this one's heal, before the next heal: the engine restarts while the other
    )
    # fault still holds (start-up reconcile against a broken link, recovery on a full disk)


class OperatorAction(_M):
    """The operator activates (or resets) the kill switch at `at` (0..1) of the fault steps: between any two
    steps, so also while a fault holds or right after a restart."""

    action: Literal["activate", "reset"]
    at: float = Field(ge=0.0, le=1.0)
    # An operator who reacts: right after the engine answers again following a restart (if there is one)
    after_restart: bool = False


class Workload(_M):
    signals: tuple[Signal, ...]
    concurrency: int = Field(ge=1, le=8)
    interval_s: float = 0.0
    retry_unknown: int = Field(default=2, ge=0, le=5)


class Schedule(_M):
    seed: int
    index: int
    workload: Workload
    faults: tuple[FaultSpec, ...]
    operator: tuple[OperatorAction, ...] = ()
    broker_delay_s: float = 0.0  # the broker answers late (fills, then answers): widens the ack-lost window
    broker_fail_next: int = 0  # the broker's next N orders get a 503 (outcome unknown to the engine)
    late_retry: bool = False  # after everything healed, clients retry every signal still in doubt

    @property
    def name(self) -> str:
        return f"explore-{self.seed}-{self.index}"

    def size(self) -> dict[str, int]:
        return {"faults": len(self.faults), "signals": len(self.workload.signals)}


def rng_for(seed: int, index: int) -> random.Random:
    """Independent of every other index: schedule i is the same whatever ran before it."""
    digest = hashlib.sha256(f"chaos-lab explore {seed} {index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _trigger(rng: random.Random, level: int) -> Trigger:
    kind = rng.choice(["ops", "ops", "broker_orders", "ledger_bytes", "sleep"])
    if kind == "ops":
        return Trigger(kind="ops", value=level + rng.randint(1, 8))
    if kind == "broker_orders":
        return Trigger(kind="broker_orders", value=level + rng.randint(1, 6))
    if kind == "ledger_bytes":
        return Trigger(kind="ledger_bytes", value=300 * (level + rng.randint(2, 10)))
    return Trigger(kind="sleep", value=round(rng.uniform(0.2, 2.0), 2))


def generate(seed: int, index: int, kinds: list[str]) -> Schedule:
    if not kinds:
        raise ValueError("no explorable fault kind to draw from")
    rng = rng_for(seed, index)
    count = rng.randint(20, 60)
    signals = tuple(
        Signal(
            symbol=rng.choice(SYMBOLS), side=rng.choice(("BUY", "SELL")), quantity=float(rng.randint(1, 5))
        )
        for _ in range(count)
    )
    workload = Workload(
        signals=signals,
        concurrency=rng.randint(1, 4),
        interval_s=rng.choice([0.0, 0.02, 0.05, 0.1]),
        retry_unknown=rng.randint(2, 5),
    )
    faults: list[FaultSpec] = []
    level = 0
    for i in range(rng.randint(1, 4)):
        kind = rng.choices(kinds, weights=[RULES[k].weight for k in kinds])[0]
        rule = RULES[kind]
        relation: Relation = "later" if i == 0 else rng.choice(["later", "overlap", "after_heal"])
        trigger = _trigger(rng, level)
        level = int(trigger.value) if trigger.kind in ("ops", "broker_orders") else level + 3
        faults.append(
            FaultSpec(
                kind=kind,
                params=rule.params(rng),
                relation=relation,
                trigger=trigger,
                delay_s=round(rng.uniform(0.0, 1.5), 2),
                hold_s=round(rng.uniform(*rule.hold), 2),
                lifo=rng.random() < 0.5,
                heal_gap_s=round(rng.uniform(0.5, 3.0), 2) if rng.random() < 0.5 else 0.0,
            )
        )
        if rule.terminal:
            break
    operator: list[OperatorAction] = []
    if rng.random() < 0.5:
        on = round(rng.random(), 3)
        operator.append(OperatorAction(action="activate", at=on, after_restart=rng.random() < 0.5))
        if rng.random() < 0.7:
            operator.append(OperatorAction(action="reset", at=round(rng.uniform(on, 1.0), 3)))
    knob = rng.random()
    return Schedule(
        seed=seed,
        index=index,
        workload=workload,
        faults=tuple(faults),
        operator=tuple(operator),
        # up to 4 s: past the engine's 3 s read timeout the broker fills but the engine never hears back
        broker_delay_s=round(rng.uniform(0.5, 4.0), 2) if knob < 0.2 else 0.0,
        broker_fail_next=rng.randint(1, 3) if 0.2 <= knob < 0.35 else 0,
        late_retry=rng.random() < 0.6,
    )

"""Random fault schedules from (seed, index): a longer concurrent workload whose clients retry in-doubt
signals under the same intent id, an operator who activates and resets the kill switch at random moments, and
1-4 faults from every explorable kind, in sequence (after one heals), overlapping (the next strikes while the
first holds: timeout then SIGKILL, disk full then kill then free) or right after a heal (kill during
recovery, reset_peer during start-up reconcile).

Why the draw is shaped: the bugs that survive the catalogue sit where the engine's recovery or its operator
actions run WHILE a disk or link fault still holds (a reset on a full disk, a halt that cannot be saved and
then a crash, start-up reconcile against a dead link). Drawn uniformly, those conjunctions are rare. So each
schedule (1) draws from a subset of the kinds (swarm testing, Groce et al. 2012), half the time a pair "one
fault that holds state (disk, link) + one that restarts the engine", so combinations are dense; (2) a process
fault after a holding one mostly strikes while it holds and is healed first, with a gap: the engine restarts
and recovers under the held fault; (3) operator actions are often anchored inside a holding fault's window;
(4) the clients go on sending after everything healed, so a state the faults left wrong (a forgotten halt,
a reset that failed but took effect) is exercised rather than hidden by a workload that already ended.

A `Schedule` is structured so the shrinker can remove a fault or shorten a hold; `render()` turns it into a
concrete `Scenario` (signals listed, every parameter fixed), which is what is written to a file and run.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chaos_lab.explore.kinds import RULES, breaking_link, outlives_restart
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
    # Or one who acts while fault #during holds (right after it strikes): a halt or reset on a full disk or
    # with the broker unreachable. Falls back to `at` when that fault has no window (a file fault).
    during: int | None = Field(default=None, ge=0)


class Workload(_M):
    signals: tuple[Signal, ...]
    concurrency: int = Field(ge=1, le=8)
    interval_s: float = 0.0
    retry_unknown: int = Field(default=2, ge=0, le=5)
    # sent once every fault has healed and the engine answers: what the faults left behind (a halt forgotten,
    # a failed reset that took effect anyway, an order reconcile dropped) meets live traffic
    after: tuple[Signal, ...] = ()


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
        return {"faults": len(self.faults), "signals": len(self.workload.signals) + len(self.workload.after)}


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


HOLDING = (
    "disk",
    "link",
)  # roles of the faults the operator may act inside (a save fails, the broker is away)
LOST_ANSWER_S = 3.0  # the engine's broker read timeout: a broker later than this fills unheard


def swarm(rng: random.Random, kinds: list[str]) -> list[str]:
    """The kinds this schedule draws from (swarm testing): half the time one holding fault (disk, link) and
    one process fault, plus sometimes one more kind; otherwise each kind with probability 1/2. Fewer kinds
    per schedule means each combination of them is drawn far more often than from the whole table."""
    if len(kinds) <= 2:
        return list(kinds)
    process = [k for k in kinds if RULES[k].role == "process"]
    holding = [k for k in kinds if outlives_restart(k)]
    if process and holding and rng.random() < 0.5:
        picked = {rng.choice(holding), rng.choice(process)}
        if rng.random() < 0.3:
            picked.add(rng.choice(kinds))
        return sorted(picked)
    return sorted(k for k in kinds if rng.random() < 0.5) or [rng.choice(kinds)]


def _signals(rng: random.Random, count: int) -> tuple[Signal, ...]:
    return tuple(
        Signal(
            symbol=rng.choice(SYMBOLS), side=rng.choice(("BUY", "SELL")), quantity=float(rng.randint(1, 5))
        )
        for _ in range(count)
    )


def _fault(rng: random.Random, i: int, kind: str, prev: FaultSpec | None, level: int) -> FaultSpec:
    rule = RULES[kind]
    relation: Relation = "later" if i == 0 else rng.choice(["later", "overlap", "after_heal"])
    lifo, gap = rng.random() < 0.5, rng.random() < 0.5
    if prev is not None and outlives_restart(prev.kind) and rule.role == "process":
        # recovery under a held fault: strike while it holds, restart first, free it some seconds later
        relation = "overlap" if rng.random() < 0.7 else relation
        lifo, gap = rng.random() < 0.75, rng.random() < 0.8
    return FaultSpec(
        kind=kind,
        params=rule.params(rng),
        relation=relation,
        trigger=_trigger(rng, level),
        delay_s=round(rng.uniform(0.0, 1.5), 2),
        hold_s=round(rng.uniform(*rule.hold), 2),
        lifo=lifo,
        heal_gap_s=round(rng.uniform(0.5, 4.0), 2) if gap else 0.0,
    )


def _operator(rng: random.Random, faults: list[FaultSpec]) -> tuple[OperatorAction, ...]:
    """An activation and usually a reset. With a holding fault (disk, link) drawn, the pair relates to one
    window of it in one of four ways, equally often: both at random points, the halt pressed while it holds,
    the halt before and the reset while it holds, or both while it holds."""
    if rng.random() >= 0.75:
        return ()
    windows = [i for i, f in enumerate(faults) if RULES[f.kind].role in HOLDING]
    pattern = rng.choice(["free", "halt_in", "reset_in", "both_in"]) if windows else "free"
    window = rng.choice(windows) if windows else None
    on = round(rng.uniform(0.0, 0.2) if pattern == "reset_in" else rng.random(), 3)
    halt_in = pattern in ("halt_in", "both_in")
    ops = [
        OperatorAction(
            action="activate",
            at=on,
            after_restart=not halt_in and rng.random() < 0.4,
            during=window if halt_in else None,
        )
    ]
    if pattern in ("reset_in", "both_in") or rng.random() < 0.75:
        reset_in = pattern in ("reset_in", "both_in")
        ops.append(
            OperatorAction(
                action="reset",
                at=round(rng.uniform(on, 1.0), 3),
                after_restart=not reset_in and rng.random() < 0.25,
                during=window if reset_in else None,
            )
        )
    return tuple(ops)


def generate(seed: int, index: int, kinds: list[str]) -> Schedule:
    if not kinds:
        raise ValueError("no explorable fault kind to draw from")
    rng = rng_for(seed, index)
    drawn = swarm(rng, kinds)
    workload = Workload(
        signals=_signals(rng, rng.randint(20, 60)),
        concurrency=rng.randint(1, 4),
        interval_s=rng.choice([0.0, 0.02, 0.05, 0.1]),
        retry_unknown=rng.randint(2, 5),
    )
    faults: list[FaultSpec] = []
    level = 0
    process = [k for k in drawn if RULES[k].role == "process"]
    for i in range(rng.randint(1, 4)):
        kind = rng.choices(drawn, weights=[RULES[k].weight for k in drawn])[0]
        if faults and outlives_restart(faults[-1].kind) and process and rng.random() < 0.5:
            kind = rng.choice(process)  # a held disk or link fault, then a crash or restart under it
        fault = _fault(rng, i, kind, faults[-1] if faults else None, level)
        trigger = fault.trigger
        level = int(trigger.value) if trigger.kind in ("ops", "broker_orders") else level + 3
        faults.append(fault)
        if RULES[kind].terminal:
            break
    operator = _operator(rng, faults)
    after = _signals(rng, rng.randint(3, 10)) if rng.random() < 0.8 else ()
    knob = rng.random()
    # the broker answers late: half the time past the engine's read timeout (it fills, the answer is lost)
    delay = rng.choice([rng.uniform(0.5, 2.5), rng.uniform(LOST_ANSWER_S + 0.2, LOST_ANSWER_S + 1.5)])
    crash_under_link = [
        i
        for i, (p, f) in enumerate(itertools.pairwise(faults))
        if f.relation == "overlap" and RULES[f.kind].role == "process" and RULES[p.kind].role == "link"
    ]
    if crash_under_link and rng.random() < 0.5:
        # a crash while the link is broken, half the time made to bite: answers are being lost, so the crash
        # catches an order in doubt; the link fails every request; the engine is back before the link is, so
        # start-up reconcile must ask about that order through the broken link, and the link stays broken
        # longer than a request it swallows takes to time out (a 4 s latency outlasts the 3 s read timeout
        # only if it is still there 3 s after the engine asked)
        knob, delay = 0.0, rng.uniform(LOST_ANSWER_S + 0.2, LOST_ANSWER_S + 1.5)
        i = crash_under_link[0]
        link, crash = faults[i], faults[i + 1]
        faults[i] = link.model_copy(update={"params": breaking_link(link.kind, rng) or link.params})
        gap = round(rng.uniform(LOST_ANSWER_S + 0.5, LOST_ANSWER_S + 3.0), 2)
        faults[i + 1] = crash.model_copy(update={"lifo": True, "heal_gap_s": gap})
    return Schedule(
        seed=seed,
        index=index,
        workload=workload.model_copy(update={"after": after}),
        faults=tuple(faults),
        operator=operator,
        broker_delay_s=round(delay, 2) if knob < 0.25 else 0.0,
        broker_fail_next=rng.randint(1, 3) if 0.25 <= knob < 0.4 else 0,
        late_retry=rng.random() < 0.6,
    )

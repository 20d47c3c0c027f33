"""Scenarios as data, in the spirit of Chaos Toolkit experiments: a steady-state hypothesis, a method (ordered
steps of faults and workload), a rollback, and the checkers that judge the outcome.

Ranges (IntRange/FloatRange) are resolved by the generator from the seed, so a scenario + seed is one exact
schedule.

Every number a step takes is finite and bounded (`Between`, chaos_lab/bounds.py): a scenario is also a file an
engineer types, and a typo (`seconds: 1e9`, `count: -5`, `.nan`) must fail at load with the allowed range, not
hang or crash a lab run. The bounds are listed in docs/incident-files.md ("What a file may hold").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from chaos_lab.bounds import Between
from chaos_lab.checkers import with_applicable
from chaos_lab.experiment.start_state import StartFrom
from chaos_lab.faults.registry import FAULT_KINDS, effects_of
from chaos_lab.models import CheckerSpec, Goal
from chaos_lab.reach.events import KNOWN as REACH_EVENTS


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _inverted(lo: float, hi: float) -> ValueError:
    return ValueError(f"empty range: lo {lo:g} is above hi {hi:g} (a range needs lo <= hi)")


class IntRange(_Data):
    lo: Annotated[int, Between(integer=True)]
    hi: Annotated[int, Between(integer=True)]

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.lo > self.hi:
            raise _inverted(self.lo, self.hi)
        return self


class FloatRange(_Data):
    lo: Annotated[float, Between()]
    hi: Annotated[float, Between()]

    @model_validator(mode="after")
    def _ordered(self) -> FloatRange:
        if self.lo > self.hi:
            raise _inverted(self.lo, self.hi)
        return self


def _shape(value: object) -> str:
    """A number or a range, told apart by the input's shape: a union would try both and report the wrong
    one (an inverted range came out as "Input should be a valid number")."""
    return "range" if isinstance(value, dict | IntRange | FloatRange) else "number"


IntOrRange = Annotated[
    Annotated[int, Tag("number")] | Annotated[IntRange, Tag("range")], Discriminator(_shape)
]
FloatOrRange = Annotated[
    Annotated[float, Tag("number")] | Annotated[FloatRange, Tag("range")], Discriminator(_shape)
]
TIMEOUT = Between(0, 300, " s", lo_open=True)  # every step's timeout_s: a bounded wait, never forever
SIGNAL_S = 1 / 58  # one signal to one client at the least: the lab engine answers 58/s (docs/lab-stack.md)
# the engine's own name rules (execution_routes.SYMBOL_PATTERN, data_routes.NAME_PATTERN)
Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,31}$")]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class Signal(_Data):
    symbol: Symbol
    side: Literal["BUY", "SELL"]
    quantity: Annotated[float, Between(0, 1_000_000, lo_open=True)]


class Burst(_Data):
    """`count` signals, one after another; in the background when a fault must hit it mid-flight."""

    action: Literal["burst"] = "burst"
    count: Annotated[IntOrRange, Between(1, 200, " signals", integer=True)] = 20  # every load loop is bounded
    interval_s: Annotated[float, Between(0, 10, " s")] = 0.0
    background: bool = False
    symbols: tuple[Symbol, ...] = Field(default=("EURUSD", "GBPUSD", "USDJPY"), min_length=1)
    max_quantity: Annotated[int, Between(1, 1000, integer=True)] = 5
    concurrency: Annotated[int, Between(1, 8, integer=True)] = 1  # clients, each sending one signal at a time
    # resend the same intent_id after an `info` outcome, up to this many times
    retry_unknown: Annotated[int, Between(0, 10, integer=True)] = 0
    signals: tuple[Signal, ...] = ()  # filled by the generator

    @model_validator(mode="after")
    def _bounded(self) -> Burst:
        if self.signals and self.count != len(self.signals):
            raise ValueError(f"count {self.count} but {len(self.signals)} signals listed")
        return self


class AwaitBurst(_Data):
    action: Literal["await_burst"] = "await_burst"
    timeout_s: Annotated[float, TIMEOUT] = 30.0


class WaitOps(_Data):
    """Wait until the background burst has completed `count` operations: 'the fault hits mid-burst'."""

    action: Literal["wait_ops"] = "wait_ops"
    count: Annotated[IntOrRange, Between(0, 1000, " ops", integer=True)]
    timeout_s: Annotated[float, TIMEOUT] = 15.0


class Sleep(_Data):
    action: Literal["sleep"] = "sleep"
    seconds: Annotated[FloatOrRange, Between(0, 120, " s")]  # a longer hold is a scenario bug, not a fault


class Inject(_Data):
    action: Literal["inject"] = "inject"
    name: Name
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    random_params: dict[str, FloatRange] = Field(default_factory=dict)  # resolved into params from the seed

    @field_validator("kind")
    @classmethod
    def _known(cls, kind: str) -> str:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (one of {', '.join(sorted(FAULT_KINDS))})")
        return kind


class Heal(_Data):
    action: Literal["heal"] = "heal"
    name: Name


class BrokerConfig(_Data):
    """The fake broker's own bounds (broker/app.py AdminConfig), so it never refuses what a file allowed."""

    action: Literal["broker_config"] = "broker_config"
    order_delay_s: Annotated[float, Between(0, 120, " s")] = 0.0
    fail_next: Annotated[int, Between(0, 10_000, integer=True)] = 0


class ActivateKillSwitch(_Data):
    action: Literal["kill_switch"] = "kill_switch"
    reason: str = Field(min_length=1, max_length=1000)  # the engine's own limits
    required: bool = True  # False: an operator acting at a random moment (the engine may be down): recorded


class ResetKillSwitch(_Data):
    """The operator resets the kill switch with the lab's token (LAB_KILL_SWITCH_TOKEN, default lab-token)."""

    action: Literal["reset_kill_switch"] = "reset_kill_switch"
    token: str | None = Field(default=None, max_length=1000)  # None: the lab's token
    required: bool = True  # False: tolerate a refusal or a down engine (recorded in the history either way)


class WaitLedgerBytes(_Data):
    """Wait until the ledger file on the engine's volume holds `bytes` bytes: a fault triggered by state
    ("fill the disk when the ledger reaches B bytes"), not by a count or a clock."""

    action: Literal["await_ledger_bytes"] = "await_ledger_bytes"
    bytes: Annotated[IntOrRange, Between(0, 2**30, " bytes", integer=True)]
    timeout_s: Annotated[float, TIMEOUT] = 15.0
    required: bool = True  # False: go on when the state is not reached in time (the workload may be over)


class WaitBrokerOrders(_Data):
    """Wait until the broker has received its `count`-th order (POST /orders, any outcome): "kill the engine
    when the broker has received its K-th order"."""

    action: Literal["await_broker_orders"] = "await_broker_orders"
    count: Annotated[IntOrRange, Between(0, 1000, " orders", integer=True)]
    timeout_s: Annotated[float, TIMEOUT] = 15.0
    required: bool = True


class ObserveKillSwitch(_Data):
    """Remember the kill-switch state now, to compare after the crash (kill_switch_persisted)."""

    action: Literal["observe_kill_switch"] = "observe_kill_switch"


class WaitEngine(_Data):
    action: Literal["wait_engine"] = "wait_engine"
    ready: bool = True  # False: only wait until /health answers
    # a guard, not a judgement: recovery time is the availability checker's
    timeout_s: Annotated[float, TIMEOUT] = 120.0


class RetryUnknown(_Data):
    """Resend, with the same intent_id, every signal whose outcome was unknown (`info`): the client's
    retry."""

    action: Literal["retry_unknown"] = "retry_unknown"
    required: bool = True  # False: no in-doubt signal is fine (a random schedule may leave none)


class SampleResources(_Data):
    """Read the engine's memory, threads, open descriptors and the files on its volume from outside it, into
    the history (chaos_lab/lab/resources.py): what `resources_bounded` and `idle_quiet` judge."""

    action: Literal["sample_resources"] = "sample_resources"


class PutBars(_Data):
    action: Literal["put_bars"] = "put_bars"
    symbol: Symbol = "EURUSD"
    timeframe: Name = "M1"
    count: Annotated[int, Between(1, 100_000, " bars", integer=True)] = 200


class ReadBars(_Data):
    action: Literal["read_bars"] = "read_bars"
    symbol: Symbol = "EURUSD"
    timeframe: Name = "M1"


Step = Annotated[
    Burst
    | AwaitBurst
    | WaitOps
    | Sleep
    | Inject
    | Heal
    | BrokerConfig
    | ActivateKillSwitch
    | ResetKillSwitch
    | WaitLedgerBytes
    | WaitBrokerOrders
    | ObserveKillSwitch
    | WaitEngine
    | RetryUnknown
    | SampleResources
    | PutBars
    | ReadBars,
    Field(discriminator="action"),
]


Probe = Literal["engine_ready", "broker_healthy", "proxy_enabled", "flat_positions", "positions_agree"]
#: a start from captured data has positions: the engine's must equal the broker's instead of both being flat
CAPTURED_STEADY_STATE: tuple[Probe, ...] = (
    "engine_ready",
    "broker_healthy",
    "proxy_enabled",
    "positions_agree",
)
START_CHECKER = "start_state_kept"


class Scenario(_Data):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    tier: int = Field(ge=1, le=5)  # 5: the corpus (chaos_lab/corpus)
    description: str
    #: probes that must hold before the method (Chaos Toolkit's steady-state hypothesis)
    steady_state: tuple[Probe, ...] = ("engine_ready", "broker_healthy", "proxy_enabled", "flat_positions")
    #: production's data to start from (experiment/start_state.py); None: an empty volume and an empty broker
    start_from: StartFrom | None = None
    method: tuple[Step, ...]
    rollback: tuple[Step, ...] = ()  # after every fault is healed: e.g. clear the broker's delay
    restart_on_recover: bool = True  # graceful restart after rollback: startup reconcile + replay are judged
    expect_ready: bool = True  # after recovery; False when the engine is expected to refuse to trade
    verify_signals: int = Field(default=2, ge=0, le=10)  # sent after recovery, to see it trade (or refuse)
    checkers: tuple[CheckerSpec, ...]
    seeds: tuple[int, ...] = (1,)  # the seeds `run` uses when none is given
    #: written to the engine's /data/config.json before it starts (e.g. a short balance_max_age)
    engine_config: dict[str, Any] = Field(default_factory=dict)
    #: what a run must show to count (reach events); None: the defaults of each injected fault kind
    goals: tuple[Goal, ...] | None = None
    #: runs allowed to meet the goals: a run that fails no checker but misses a goal is run again, up to this
    #: many in all (a corpus entry's: chaos_lab/corpus/admit.py); 1: the first run decides
    reach_attempts: int = Field(default=1, ge=1, le=5)

    @property
    def fault_kinds(self) -> list[str]:
        return [s.kind for s in self.method if isinstance(s, Inject)]

    @property
    def judged_by(self) -> tuple[CheckerSpec, ...]:
        """The checkers a run of it runs: those it names, then every checker that applies to one of its
        faults' effects (chaos_lab/checkers/__init__.py), so no fault goes unjudged by what cares about it."""
        return with_applicable(self.checkers, effects_of(self.fault_kinds))

    @model_validator(mode="before")
    @classmethod
    def _captured_defaults(cls, data: Any) -> Any:
        """A start from captured data: its steady state compares positions rather than wanting them flat,
        and `start_state_kept` judges the run (both only where the scenario does not say otherwise)."""
        if not isinstance(data, dict) or not data.get("start_from"):
            return data
        data = dict(data)
        data.setdefault("steady_state", CAPTURED_STEADY_STATE)
        checkers = list(data.get("checkers") or ())
        names = [c.get("name") if isinstance(c, dict) else getattr(c, "name", None) for c in checkers]
        if START_CHECKER not in names:
            data["checkers"] = [*checkers, {"name": START_CHECKER}]
        return data

    @model_validator(mode="after")
    def _captured_positions(self) -> Scenario:
        if self.start_from is not None and "flat_positions" in self.steady_state:
            raise ValueError(
                "steady_state: flat_positions cannot hold for a start from captured data "
                "(use positions_agree)"
            )
        return self

    @model_validator(mode="after")
    def _goals_known(self) -> Scenario:
        faults = {s.name for s in self.method if isinstance(s, Inject)}
        for i, g in enumerate(self.goals or ()):
            unknown = [e for e in g.events if e not in REACH_EVENTS]
            if unknown:
                raise ValueError(f"goals.{i}: unknown reach event {unknown[0]!r} (see `chaos-lab reach`)")
            if g.during is not None and g.during not in faults:
                raise ValueError(f"goals.{i}: during {g.during!r} names no inject step of the method")
        return self


class Plan(_Data):
    """A scenario with every range resolved: what the runner executes, identical for identical seeds."""

    scenario: str
    seed: int
    steps: tuple[Step, ...]

    def held_s(self) -> float:
        """The seconds its own sleeps and paced bursts take at the least (a background burst runs beside the
        steps after it): which runs start first, so that the longest does not start last on a pool of labs."""
        held, background = 0.0, 0.0
        for step in self.steps:
            if isinstance(step, Sleep):
                held += float(step.seconds)
            elif isinstance(step, Burst):
                paced = int(step.count) * max(step.interval_s, SIGNAL_S) / step.concurrency
                if step.background:
                    background = max(background, paced)
                else:
                    held += paced
        return max(held, background)

    def fault_schedule(self) -> list[dict[str, Any]]:
        """The nemesis side of the plan: injects, heals and the waits between them, in order."""
        return [s.model_dump() for s in self.steps if isinstance(s, Inject | Heal | Sleep | WaitOps)]

"""Scenarios as data, in the spirit of Chaos Toolkit experiments: a steady-state hypothesis, a method (ordered
steps of faults and workload), a rollback, and the checkers that judge the outcome.

Ranges (IntRange/FloatRange) are resolved by the generator from the seed, so a scenario + seed is one exact
schedule.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chaos_lab.faults.catalog import FAULT_KINDS
from chaos_lab.models import CheckerSpec


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntRange(_Data):
    lo: int
    hi: int

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.lo > self.hi:
            raise ValueError(f"empty range {self.lo}..{self.hi}")
        return self


class FloatRange(_Data):
    lo: float
    hi: float

    @model_validator(mode="after")
    def _ordered(self) -> FloatRange:
        if self.lo > self.hi:
            raise ValueError(f"empty range {self.lo}..{self.hi}")
        return self


class Signal(_Data):
    symbol: str
    side: Literal["BUY", "SELL"]
    quantity: float


class Burst(_Data):
    """`count` signals, one after another; in the background when a fault must hit it mid-flight."""

    action: Literal["burst"] = "burst"
    count: int | IntRange = Field(default=20)
    interval_s: float = 0.0
    background: bool = False
    symbols: tuple[str, ...] = ("EURUSD", "GBPUSD", "USDJPY")
    max_quantity: int = 5
    concurrency: int = Field(default=1, ge=1, le=8)  # concurrent clients, each sending one signal at a time
    retry_unknown: int = 0  # resend the same intent_id after an `info` outcome, up to this many times
    signals: tuple[Signal, ...] = ()  # filled by the generator

    @model_validator(mode="after")
    def _bounded(self) -> Burst:
        hi = self.count.hi if isinstance(self.count, IntRange) else self.count
        if not 0 < hi <= 200:
            raise ValueError("a burst is 1..200 signals: every load loop is bounded")
        if self.signals and self.count != len(self.signals):
            raise ValueError(f"count {self.count} but {len(self.signals)} signals listed")
        return self


class AwaitBurst(_Data):
    action: Literal["await_burst"] = "await_burst"
    timeout_s: float = 30.0


class WaitOps(_Data):
    """Wait until the background burst has completed `count` operations: 'the fault hits mid-burst'."""

    action: Literal["wait_ops"] = "wait_ops"
    count: int | IntRange
    timeout_s: float = 15.0


class Sleep(_Data):
    action: Literal["sleep"] = "sleep"
    seconds: float | FloatRange


class Inject(_Data):
    action: Literal["inject"] = "inject"
    name: str
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
    name: str


class BrokerConfig(_Data):
    action: Literal["broker_config"] = "broker_config"
    order_delay_s: float = 0.0
    fail_next: int = 0


class ActivateKillSwitch(_Data):
    action: Literal["kill_switch"] = "kill_switch"
    reason: str
    required: bool = True  # False: an operator acting at a random moment (the engine may be down): recorded


class ResetKillSwitch(_Data):
    """The operator resets the kill switch with the lab's token (LAB_KILL_SWITCH_TOKEN, default lab-token)."""

    action: Literal["reset_kill_switch"] = "reset_kill_switch"
    token: str | None = None  # None: the lab's token
    required: bool = True  # False: tolerate a refusal or a down engine (recorded in the history either way)


class WaitLedgerBytes(_Data):
    """Wait until the ledger file on the engine's volume holds `bytes` bytes: a fault triggered by state
    ("fill the disk when the ledger reaches B bytes"), not by a count or a clock."""

    action: Literal["await_ledger_bytes"] = "await_ledger_bytes"
    bytes: int | IntRange
    timeout_s: float = Field(default=15.0, gt=0, le=120)
    required: bool = True  # False: go on when the state is not reached in time (the workload may be over)


class WaitBrokerOrders(_Data):
    """Wait until the broker has received its `count`-th order (POST /orders, any outcome): "kill the engine
    when the broker has received its K-th order"."""

    action: Literal["await_broker_orders"] = "await_broker_orders"
    count: int | IntRange
    timeout_s: float = Field(default=15.0, gt=0, le=120)
    required: bool = True


class ObserveKillSwitch(_Data):
    """Remember the kill-switch state now, to compare after the crash (kill_switch_persisted)."""

    action: Literal["observe_kill_switch"] = "observe_kill_switch"


class WaitEngine(_Data):
    action: Literal["wait_engine"] = "wait_engine"
    ready: bool = True  # False: only wait until /health answers
    timeout_s: float = 120.0  # a guard, not a judgement: recovery time is the availability checker's


class RetryUnknown(_Data):
    """Resend, with the same intent_id, every signal whose outcome was unknown (`info`): the client's
    retry."""

    action: Literal["retry_unknown"] = "retry_unknown"
    required: bool = True  # False: no in-doubt signal is fine (a random schedule may leave none)


class PutBars(_Data):
    action: Literal["put_bars"] = "put_bars"
    symbol: str = "EURUSD"
    timeframe: str = "M1"
    count: int = 200


class ReadBars(_Data):
    action: Literal["read_bars"] = "read_bars"
    symbol: str = "EURUSD"
    timeframe: str = "M1"


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
    | PutBars
    | ReadBars,
    Field(discriminator="action"),
]


class Scenario(_Data):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    tier: int = Field(ge=1, le=4)
    description: str
    #: probes that must hold before the method (Chaos Toolkit's steady-state hypothesis)
    steady_state: tuple[Literal["engine_ready", "broker_healthy", "proxy_enabled", "flat_positions"], ...] = (
        "engine_ready",
        "broker_healthy",
        "proxy_enabled",
        "flat_positions",
    )
    method: tuple[Step, ...]
    rollback: tuple[Step, ...] = ()  # after every fault is healed: e.g. clear the broker's delay
    restart_on_recover: bool = True  # graceful restart after rollback: startup reconcile + replay are judged
    expect_ready: bool = True  # after recovery; False when the engine is expected to refuse to trade
    verify_signals: int = Field(default=2, ge=0, le=10)  # sent after recovery, to see it trade (or refuse)
    checkers: tuple[CheckerSpec, ...]
    seeds: tuple[int, ...] = (1,)  # the seeds `run` uses when none is given
    #: written to the engine's /data/config.json before it starts (e.g. a short balance_max_age)
    engine_config: dict[str, Any] = Field(default_factory=dict)

    @property
    def fault_kinds(self) -> list[str]:
        return [s.kind for s in self.method if isinstance(s, Inject)]


class Plan(_Data):
    """A scenario with every range resolved: what the runner executes, identical for identical seeds."""

    scenario: str
    seed: int
    steps: tuple[Step, ...]

    def fault_schedule(self) -> list[dict[str, Any]]:
        """The nemesis side of the plan: injects, heals and the waits between them, in order."""
        return [s.model_dump() for s in self.steps if isinstance(s, Inject | Heal | Sleep | WaitOps)]

"""Records that cross a boundary of the orchestrator: the history file, the reports, the checkers' inputs.

Pydantic so that `chaos-lab report RUN_DIR` can re-read what `run` wrote and refuse a file it cannot trust.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from chaos_lab.effects import Effect

OpType = Literal["invoke", "ok", "fail", "info"]
# Which actor produced an op: the workload client, the /health prober, the nemesis, or the runner's own
# verification calls, the resource sampler. Jepsen calls this the process.
Process = Literal["workload", "probe", "nemesis", "verify", "setup", "sampler"]


class Op(BaseModel):
    """One history event. A client call is two events: `invoke`, then exactly one of ok / fail / info."""

    model_config = ConfigDict(extra="forbid")

    index: int
    scenario: str = ""
    seed: int = 0
    phase: str = ""
    process: Process
    type: OpType
    f: str  # "signal", "health", "inject", "heal", "bars_read", ...
    time: float  # seconds since the history began, from time.monotonic(): immune to clock steps
    wall: datetime  # UTC, to line up with the broker's received_at
    intent_id: UUID | None = None
    fault: str | None = None  # the fault's name for nemesis ops
    value: dict[str, Any] = Field(default_factory=dict)
    status_code: int | None = None
    reason: str | None = None
    latency: float | None = None  # seconds from the matching invoke, on completions


class FaultWindow(BaseModel):
    """A fault's life in the history: from its inject to its heal (or the end of the scenario)."""

    name: str
    kind: str
    start: float
    end: float | None
    params: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    #: what the fault did, as its kind declared when it was injected: checkers select windows by these
    effects: frozenset[Effect] = frozenset()

    def has(self, *effects: Effect) -> bool:
        """The fault had any of these effects."""
        return not self.effects.isdisjoint(effects)


class Verdict(BaseModel):
    """A checker's judgement. `evidence` names the exact ids, offsets and counts a person needs to
    follow up."""

    name: str
    ok: bool
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    #: nothing to judge (Jepsen's `:unknown`): the run gave this checker nothing it applies to; never a
    #: failure, and never counted as a pass of what it checks (`summary` says why)
    unknown: bool = False


class LedgerRecord(BaseModel):
    """A ledger line as read from the file by chaos_lab's own reader, with where it sits in the file."""

    offset: int
    length: int
    seq: int
    entry_type: str
    intent_id: UUID
    timestamp: str
    payload: dict[str, Any]


class LedgerIssue(BaseModel):
    """Something wrong at a byte offset of the ledger file."""

    offset: int
    kind: Literal["bad_checksum", "bad_format", "bad_json", "bad_record", "seq_gap", "torn_tail"]
    detail: str
    seq: int | None = None


class LedgerScan(BaseModel):
    path: str
    size: int
    records: list[LedgerRecord] = Field(default_factory=list)
    issues: list[LedgerIssue] = Field(default_factory=list)

    @property
    def torn_tail(self) -> LedgerIssue | None:
        return next((i for i in self.issues if i.kind == "torn_tail"), None)


class KillSwitchState(BaseModel):
    active: bool
    reason: str | None = None
    activated_at: str | None = None


# What the broker did with one `POST /orders` (docs/interfaces.md, `GET /admin/attempts`).
AttemptOutcome = Literal["filled", "duplicate", "failed", "rejected"]


class BrokerAttempt(BaseModel):
    """One `POST /orders` the broker received. Only a `filled` one created an order: a `fail_next` 503
    (`failed`) or a 409 (`rejected`) recorded nothing, so a re-send under the same key is still one order."""

    model_config = ConfigDict(extra="allow")

    seq: int
    client_order_id: str
    received_at: datetime
    duplicate: bool
    outcome: AttemptOutcome
    body: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _outcome_from_duplicate(cls, data: Any) -> Any:
        """A record that only says duplicate or not (the synthetic builder's) is a fill or a duplicate."""
        if isinstance(data, dict) and "outcome" not in data and isinstance(data.get("duplicate"), bool):
            return {**data, "outcome": "duplicate" if data["duplicate"] else "filled"}
        return data

    @model_validator(mode="after")
    def _duplicate_matches_outcome(self) -> BrokerAttempt:
        if self.duplicate != (self.outcome == "duplicate"):
            raise ValueError(
                f"attempt {self.seq}: duplicate={self.duplicate} contradicts outcome={self.outcome!r}"
            )
        return self

    @property
    def created_order(self) -> bool:
        return self.outcome == "filled"


class BrokerOrder(BaseModel):
    model_config = ConfigDict(extra="allow")

    broker_order_id: str
    client_order_id: str
    symbol: str
    side: str
    quantity: float
    price: float | None = None
    seeded: bool = False  # in the book before the run (a start from captured data), not placed during it


class ReachEvent(BaseModel):
    """A moment a fault can meet the engine's code: from the engine's own `REACH` lines (a failed snapshot
    write, a broker request that timed out) or from the lab's records (a signal answered, an order the broker
    received). `time` is on the history's axis."""

    model_config = ConfigDict(extra="forbid")

    name: str
    time: float
    source: Literal["engine", "lab"]
    fields: dict[str, Any] = Field(default_factory=dict)


class Observation(BaseModel):
    """Everything the checkers judge, collected after recovery. Checkers read only this (pure functions)."""

    scenario: str
    history: list[Op] = Field(default_factory=list)
    ledger_api: list[dict[str, Any]] | None = None  # /execution/ledger after recovery; None if unreachable
    ledger_file: LedgerScan | None = None  # read straight from the volume by chaos_lab.ledger_reader
    broker_attempts: list[BrokerAttempt] = Field(default_factory=list)
    broker_orders: list[BrokerOrder] = Field(default_factory=list)
    broker_positions: dict[str, float] = Field(default_factory=dict)
    engine_state: dict[str, Any] | None = None
    kill_switch_before: KillSwitchState | None = None  # observed just before the crash
    kill_switch_after: KillSwitchState | None = None  # observed after restart
    recovered_at: float | None = None  # history time the engine answered ready after the final heal
    last_heal_at: float | None = None
    broker_knob_hits: list[dict[str, Any]] = Field(default_factory=list)  # ambiguity knobs that fired
    broker_account_reads: list[datetime] = Field(default_factory=list)  # GET /account, broker wall clock
    reach: list[ReachEvent] = Field(default_factory=list)  # engine and lab reach events, in time order
    #: the captured ledger a start from production's data began with (experiment/start_state.py); None: empty
    start_ledger: LedgerScan | None = None
    #: the position snapshot file after recovery (read before the ledger file); None: none or unreadable
    snapshot: dict[str, Any] | None = None


#: `Goal.during` in a fault kind's default goals: the window of the inject step that declares it.
OWN_WINDOW = "@own"


class Goal(BaseModel):
    """What must have happened for a scenario run to count: at least `at_least` of any of `events` (matching
    `where`), inside the window of the fault named `during` (inject to heal) or anywhere in the run. A run
    whose goals were not met tested nothing: it is `vacuous`, not passed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: tuple[str, ...] = Field(min_length=1)
    during: str | None = None
    at_least: int = Field(default=1, ge=1, le=10_000)
    where: dict[str, int | str | bool] = Field(default_factory=dict)
    why: str = ""

    def describe(self) -> str:
        more = len(self.events) - 2
        names = " or ".join(self.events[:2]) + (f" (or {more} more)" if more > 0 else "")
        what = names + "".join(f" {k}={v}" for k, v in self.where.items())
        return f">= {self.at_least} {what}" + (f" during {self.during}" if self.during else "")


class GoalResult(BaseModel):
    goal: Goal
    seen: int
    met: bool
    #: what did happen, for a missed goal: reach events of the same names anywhere in the run, by name
    elsewhere: dict[str, int] = Field(default_factory=dict)


class CheckerSpec(BaseModel):
    """A checker named in a scenario, with its parameters (e.g. a recovery bound)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class PhaseTiming(BaseModel):
    phase: str
    seconds: float


_RUN_ERROR = re.compile(r"^(?P<phase>[\w-]+): (?P<cause>[A-Za-z_][\w.]*): (?P<message>.*)$", re.DOTALL)


#: Phases where an error means the engine did not come back or could not be verified after the faults: the run
#: is judged on its verdicts. An error before them (reset, steady state) means nothing was tested.
ENGINE_PHASES = ("recover", "verify")
NOT_STARTED_PHASES = ("reset", "steady-state")


class RunnerError(BaseModel):
    """The lab could not run a step of the scenario as declared: not a verdict on the engine.

    `cause` names what stopped it: the exception's class (ConnectionError, WaitTimeout, ScenarioError, a
    Docker LabError, ...), HealFailed or BrokerContractBroken. A person fixes the lab (or looks at why the
    step could not run); a failed verdict is the engine's problem. The two must never be confused in the
    report or exit status: `judges_engine` and `not_started` are the one rule every caller uses.
    """

    phase: str
    cause: str
    message: str
    #: a lab failure came on top of the first error (a fault that could not be healed, the broker breaking its
    #: own contract): the run says nothing about the engine, whatever phase failed first
    lab_fault: bool = False

    @classmethod
    def of(cls, phase: str, exc: BaseException) -> RunnerError:
        return cls(phase=phase, cause=type(exc).__name__, message=str(exc))

    @classmethod
    def lab(cls, first: RunnerError | None, phase: str, cause: str, message: str) -> RunnerError:
        """A lab failure (`cause` in `phase`), after `first` if there was one: the run judges nothing."""
        if first is None:
            return cls(phase=phase, cause=cause, message=message, lab_fault=True)
        more = f"heal failed: {message}" if cause == "HealFailed" else f"{phase}: {cause}: {message}"
        return first.model_copy(update={"message": f"{first.message}; {more}", "lab_fault": True})

    @property
    def line(self) -> str:
        """The one-line form kept as `ScenarioResult.error` ("<phase>: <cause>: <message>")."""
        if self.phase == "heal" and self.cause == "HealFailed":
            return f"heal failed: {self.message}"
        return f"{self.phase}: {self.cause}: {self.message}"

    @property
    def judges_engine(self) -> bool:
        """The engine did not come back or could not be verified: the run is judged on its verdicts."""
        return self.phase in ENGINE_PHASES and not self.lab_fault

    @property
    def not_started(self) -> bool:
        """The experiment never got to its method (lab reset, steady state): nothing was tested."""
        return self.phase in NOT_STARTED_PHASES

    @classmethod
    def parse(cls, error: str) -> RunnerError:
        """From the one-line `error` of a summary written before `runner_error` was stored."""
        if error.startswith("heal failed: "):
            return cls(
                phase="heal", cause="HealFailed", message=error.removeprefix("heal failed: "), lab_fault=True
            )
        match = _RUN_ERROR.match(error)
        if match is None:
            return cls(phase="unknown", cause="Error", message=error)
        later = "; heal failed: " in error or "; collect: BrokerContractBroken: " in error
        return cls(**match.groupdict(), lab_fault=later or match["cause"] == "BrokerContractBroken")


ScenarioStatus = Literal["passed", "failed", "runner_error", "vacuous"]


class ScenarioResult(BaseModel):
    """What `run` returns and `summary.json` stores per scenario.

    `status`: `runner_error` when the lab could not run a step (its verdicts then judged a partial run and are
    not counted against the engine), else `failed` when a checker's verdict failed, else `vacuous` when a
    reach goal was not met (the faults never met the code they were aimed at: nothing was tested), else
    `passed`.
    """

    scenario: str
    tier: int
    seed: int
    ok: bool
    started: datetime
    duration_s: float
    wait_s: float  # time spent in sleeps and polls (accounted by the runner's WaitMeter)
    phases: list[PhaseTiming] = Field(default_factory=list)
    faults: list[FaultWindow] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)
    error: str | None = None  # the runner itself could not complete (lab unusable, steady state broken)
    runner_error: RunnerError | None = None  # the same, structured (derived from `error` when not given)
    cycle_s: float | None = None  # process ended -> ready -> verified (a kill, stop or restart)
    ops: int = 0
    goals: list[GoalResult] = Field(default_factory=list)
    reach: dict[str, int] = Field(default_factory=dict)  # reach events seen in the run, by name
    replay: str | None = None  # the command that runs this scenario and seed again
    # The exact scenario this run ran, saved in the run directory (relative to it) as `chaos-lab show` prints
    # it, so `chaos-lab replay RUN_DIR` re-runs it even after the catalogue or the incident file changed.
    scenario_file: str | None = None
    source_file: str | None = None  # the file given to `run --file` (or replayed), as given
    attempts: int = 1  # runs it took to meet its goals (`Scenario.reach_attempts`); only the last is kept

    @model_validator(mode="after")
    def _runner_error_from_error(self) -> ScenarioResult:
        if self.error and self.runner_error is None:
            self.runner_error = RunnerError.parse(self.error)
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> ScenarioStatus:
        if self.runner_error is not None:
            return "runner_error"
        if not all(v.ok for v in self.verdicts):
            return "failed"
        return "passed" if all(g.met for g in self.goals) else "vacuous"

    @property
    def missed_goals(self) -> list[GoalResult]:
        return [g for g in self.goals if not g.met]


class ReachMap(BaseModel):
    """A whole run's reach (Antithesis' "sometimes" table): how often each reach event happened in each
    scenario, and which declared goals were never met in any run of their scenario."""

    events: dict[str, dict[str, int]] = Field(default_factory=dict)  # event -> scenario -> count
    goals_declared: int = 0
    goals_met: int = 0
    goals_never_met: list[str] = Field(default_factory=list)  # "scenario: goal"

    @classmethod
    def of(cls, results: list[ScenarioResult]) -> ReachMap:
        events: dict[str, dict[str, int]] = {}
        met: dict[tuple[str, str], bool] = {}
        for r in results:
            for name, n in r.reach.items():
                by = events.setdefault(name, {})
                by[r.scenario] = by.get(r.scenario, 0) + n
            for g in r.goals:
                key = (r.scenario, g.goal.describe())
                met[key] = met.get(key, False) or g.met
        return cls(
            events={name: dict(sorted(by.items())) for name, by in sorted(events.items())},
            goals_declared=len(met),
            goals_met=sum(met.values()),
            goals_never_met=[f"{scenario}: {goal}" for (scenario, goal), ok in sorted(met.items()) if not ok],
        )


class RunSummary(BaseModel):
    run_id: str
    started: datetime
    duration_s: float
    wait_s: float
    ok: bool
    results: list[ScenarioResult] = Field(default_factory=list)
    interrupted: bool = False
    lab_up_s: float = 0.0  # DockerLab.up (containers created and healthy)
    lab_down_s: float = 0.0
    lab_error: str | None = None  # the lab itself failed (Docker gone, a service never healthy, down failed)
    replay_of: str | None = None  # the run directory this run replayed (`chaos-lab replay`)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed_verdicts(self) -> int:
        """Scenario runs with a failed checker verdict against the engine."""
        return sum(r.status == "failed" for r in self.results)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def runner_errors(self) -> int:
        """Scenario runs the lab could not run as declared."""
        return sum(r.status == "runner_error" for r in self.results)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reach_map(self) -> ReachMap:
        return ReachMap.of(self.results)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def vacuous(self) -> int:
        """Scenario runs whose faults did not reach their goals: they passed without testing anything."""
        return sum(r.status == "vacuous" for r in self.results)

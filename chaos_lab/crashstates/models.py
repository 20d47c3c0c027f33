"""Records that cross a boundary of the crash-state pipeline: the parsed trace, the states, the recovery
results the worker sends back and the report.
Pydantic so a saved trace or report can be re-read and trusted."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chaos_lab.models import LedgerScan, Observation, Verdict

OpKind = Literal[
    "create",
    "open_trunc",
    "write",
    "truncate",
    "fsync",
    "rename",
    "unlink",
    "mkdir",
    "close",
    "broker_send",
    "ack",
]
Model = Literal["process", "power"]
DURABILITY_KINDS = frozenset({"fsync"})


class TraceOp(BaseModel):
    """One recorded operation that matters for crash states, in completion order (its index is the crash
    point "just after this op")."""

    model_config = ConfigDict(extra="forbid")

    index: int
    kind: OpKind
    syscall: str  # the system call as strace named it (write, pwrite64, renameat2, sendto, ...)
    tid: int
    time: float  # strace -ttt timestamp of the line that completed the call
    path: str | None = None  # relative to the recording root (e.g. "data/ledger/ledger.log")
    dest: str | None = None  # rename target
    inode: int | None = None  # the file's identity in the recording (fd -> opened file), for writes/fsyncs
    offset: int | None = None  # write offset, or the new size of a truncate
    size: int | None = None  # bytes written
    data: str | None = None  # written bytes, hex (file writes only)
    is_dir: bool = False  # fsync/mkdir of a directory
    # broker_send: the order the broker received; ack: what the client was told
    client_order_id: str | None = None
    order: dict[str, Any] | None = None
    request: str | None = None  # "signal" | "kill_switch_activate" | "kill_switch_reset" | "bars" | ...
    status: int | None = None
    intent_id: str | None = None
    body: dict[str, Any] | None = None

    def label(self) -> str:
        where = self.path or ""
        if self.dest:
            where += f" -> {self.dest}"
        if self.kind == "broker_send":
            where = f"POST /orders {self.client_order_id}"
        if self.kind == "ack":
            where = f"{self.status} {self.request} {self.intent_id or ''}".strip()
        return f"#{self.index} {self.syscall} ({self.kind}) {where}"


class RecordMeta(BaseModel):
    """How a trace was recorded: enough to recover its states the same way and to rebuild one later."""

    seed: int
    signals: int
    root: str  # the recording root; the data dir is root/data
    engine_src: str | None = None  # PYTHONPATH entry holding the engine package (a mutant copy), or None
    engine_env: dict[str, str] = Field(default_factory=dict)  # SOLAT_* the engine ran with (minus paths)
    broker_balance: float = 1_000_000.0
    kill_switch_reasons: list[str] = Field(default_factory=list)
    strace: str = ""  # the strace command line
    record_s: float = 0.0
    trace_lines: int = 0
    # what the position snapshot still lacked of the ledger when a wait for it ran out (after the first batch,
    # at the end); empty when the snapshotter kept up, as the correct engine does
    snapshot_behind: list[str] = Field(default_factory=list)


class Choice(BaseModel):
    """What one unsynced item became in a power-loss state: a file's tail or a directory entry op."""

    item: str  # "data:<path>" or "dirop:#<op index>"
    op_index: int  # the op that made it unsynced (first unsynced write, or the directory op)
    syscall: str
    path: str
    outcome: str  # "dropped" / "torn at 512 B in #12 (kept 300 of 420 bytes)" / "kept" / "undone" / "done"


class CrashState(BaseModel):
    """One disk + broker state after a crash just after op `point`."""

    id: str  # "<model>:<point>[:<choice digits>]" rebuilds exactly this state
    model: Model
    point: int
    choices: list[Choice] = Field(default_factory=list)  # power model: what was dropped, torn or undone
    files: dict[str, str | None] = Field(default_factory=dict)  # path under data dir -> sha256 (None: dir)
    orders: list[str] = Field(default_factory=list)  # client_order_ids the broker holds
    key: str = ""  # hash of (files, orders): identical inputs recover identically


class RecoveryJob(BaseModel):
    key: str
    root: str  # the materialized state: root/data is the data dir
    orders: list[dict[str, Any]]  # POST /orders bodies, in the order the broker received them
    env: dict[str, str]
    verify_intent: str


class RecoveryResult(BaseModel):
    """What the warm worker saw when the real engine started on one state."""

    key: str
    started: bool = False
    crash: str | None = None  # an exception escaped start-up or a request: the engine crashed
    refused_start: str | None = None  # config error at start: the process would exit 2 naming the file
    reconciled: bool = False
    health: dict[str, Any] | None = None
    engine_state: dict[str, Any] | None = None
    kill_switch: dict[str, Any] | None = None
    ledger_api: list[dict[str, Any]] | None = None
    ledger_file: LedgerScan | None = None  # after recovery, read with chaos_lab's own reader
    snapshot: dict[str, Any] | None = None  # the position snapshot after the engine stopped (its final flush)
    verify_status: int | None = None
    verify_body: dict[str, Any] | None = None
    server_errors: list[str] = Field(default_factory=list)  # 5xx answers
    broker_orders: list[dict[str, Any]] = Field(default_factory=list)
    broker_attempts: list[dict[str, Any]] = Field(default_factory=list)
    broker_positions: dict[str, float] = Field(default_factory=dict)
    seconds: float = 0.0


class CrashObservation(Observation):
    """An Observation (what the scenario checkers judge) plus what only a crash state has: the ledger and the
    replaced files as the crash left them (before recovery), and the recovery itself."""

    data_dir: str = ""
    crash_ledger: LedgerScan | None = None
    crash_files: dict[str, str | None] = Field(default_factory=dict)  # path -> sha256
    file_versions: dict[str, list[str]] = Field(default_factory=dict)  # path -> sha256 of whole versions
    acked_signals: list[str] = Field(default_factory=list)
    kill_switch_reasons: list[str] = Field(default_factory=list)
    recovery: RecoveryResult | None = None


class Violation(BaseModel):
    state: str
    model: Model
    point: int
    op: str  # TraceOp.label() of the op after which the crash happened
    syscall: str
    path: str | None
    choices: list[str] = Field(default_factory=list)
    checker: str
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    rebuild: str  # one command that rebuilds this state


class ModelSummary(BaseModel):
    model: Model
    crash_points: int
    states_possible: int
    states_checked: int
    recoveries: int  # distinct (disk, broker) inputs recovered
    violations: int
    states_failed: int


class CrashReport(BaseModel):
    run_id: str
    ok: bool
    seed: int
    signals: int
    trace_dir: str
    ops: int
    op_kinds: dict[str, int]
    models: list[ModelSummary]
    violations: list[Violation]
    record_s: float
    enumerate_s: float
    recover_s: float
    total_s: float
    states_per_minute: float
    recoveries_per_minute: float
    workers: int
    checkers: list[str]
    verdict_counts: dict[str, int] = Field(default_factory=dict)
    error: str | None = None


__all__ = [
    "DURABILITY_KINDS",
    "Choice",
    "CrashObservation",
    "CrashReport",
    "CrashState",
    "Model",
    "ModelSummary",
    "OpKind",
    "RecordMeta",
    "RecoveryJob",
    "RecoveryResult",
    "TraceOp",
    "Verdict",
    "Violation",
]

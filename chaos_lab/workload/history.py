"""The history of one run: every client operation, health probe and nemesis action, in order.

Jepsen's idea: record what the clients *saw* (invoke, then ok / fail / info), never what we hoped
happened, and let checkers judge the record afterwards. Thread-safe because the workload, the prober
and the nemesis run concurrently.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from chaos_lab.models import FaultWindow, Op, OpType, Process


class HistoryFileError(ValueError):
    """A history.jsonl line that does not parse: names the file and the line's byte offset."""


class History:
    def __init__(self, scenario: str = "", seed: int = 0) -> None:
        self.scenario = scenario
        self.seed = seed
        self.phase = ""
        self._t0 = time.monotonic()
        self._ops: list[Op] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def record(
        self,
        process: Process,
        type_: OpType,
        f: str,
        *,
        intent_id: UUID | None = None,
        fault: str | None = None,
        value: dict[str, Any] | None = None,
        status_code: int | None = None,
        reason: str | None = None,
        latency: float | None = None,
    ) -> Op:
        with self._lock:
            op = Op(
                index=len(self._ops),
                scenario=self.scenario,
                seed=self.seed,
                phase=self.phase,
                process=process,
                type=type_,
                f=f,
                time=self.now(),
                wall=datetime.now(UTC),
                intent_id=intent_id,
                fault=fault,
                value=value or {},
                status_code=status_code,
                reason=reason,
                latency=latency,
            )
            self._ops.append(op)
            return op

    @property
    def ops(self) -> list[Op]:
        with self._lock:
            return list(self._ops)

    def count(self, process: Process, types: Iterable[OpType] = ("ok", "fail", "info")) -> int:
        wanted = set(types)
        with self._lock:
            return sum(1 for op in self._ops if op.process == process and op.type in wanted)


def time_on_axis(ops: Sequence[Op], wall: datetime) -> float | None:
    """Place a wall-clock instant (the broker's `received_at`, a log line's stamp) on the history's monotonic
    time axis; None for an empty history."""
    if not ops:
        return None
    first = ops[0]
    return (wall - first.wall).total_seconds() + first.time


def fault_windows(ops: Iterable[Op]) -> list[FaultWindow]:
    """Pair each nemesis `inject` with its `heal`; a fault never healed stays open (end=None)."""
    open_: dict[str, FaultWindow] = {}
    closed: list[FaultWindow] = []
    invoked: dict[str, float] = {}
    for op in ops:
        if op.process != "nemesis" or op.fault is None:
            continue
        if op.f == "inject" and op.type == "invoke":
            invoked[op.fault] = op.time
        elif op.f == "inject" and op.type == "ok":
            open_[op.fault] = FaultWindow(
                name=op.fault,
                kind=str(op.value.get("kind", op.fault)),
                # From the invoke: the fault may bite at any moment while inject() runs (a SIGKILL does).
                start=invoked.pop(op.fault, op.time),
                end=None,
                params=dict(op.value.get("params", {})),
                result=dict(op.value.get("result", {})),
                effects=frozenset(op.value.get("effects", ())),
            )
        elif op.f == "heal" and op.fault in open_:
            window = open_.pop(op.fault)
            window.end = op.time
            closed.append(window)
    return sorted(closed + list(open_.values()), key=lambda w: w.start)


def write_jsonl(ops: Iterable[Op], path: Path) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        for op in ops:
            fh.write(op.model_dump_json() + "\n")


def read_jsonl(path: Path) -> list[Op]:
    ops: list[Op] = []
    offset = 0
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                try:
                    ops.append(Op.model_validate_json(line))
                except ValidationError as exc:
                    raise HistoryFileError(
                        f"{path}: bad history record at byte offset {offset}: {exc}"
                    ) from exc
            offset += len(line)
    return ops

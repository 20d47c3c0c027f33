"""Judge one crash state: turn the trace prefix + the recovery into an Observation and run the checkers.

The scenario checkers (no_lost_acks, no_duplicates, no_phantoms, positions_match, ledger_integrity,
kill_switch_persisted) judge the Observation as they do after a lab scenario; the crash-only invariants
(acks_durable, whole_file_versions, recovery_explained) also read what the crash left on disk."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chaos_lab.checkers import (
    kill_switch_persisted,
    ledger_integrity,
    no_duplicates,
    no_lost_acks,
    no_phantoms,
    positions_match,
    snapshot_consistent,
)
from chaos_lab.crashstates.checkers import acks_durable, recovery_explained, whole_file_versions
from chaos_lab.crashstates.models import CrashObservation, CrashState, RecoveryResult, TraceOp
from chaos_lab.ledger_reader import scan_ledger
from chaos_lab.models import BrokerAttempt, BrokerOrder, KillSwitchState, Op, Verdict

LEDGER = "data/ledger/ledger.log"
KILL_SWITCH = "data/kill_switch.json"
ALWAYS: list[tuple[str, Callable[..., Verdict]]] = [
    (acks_durable.NAME, acks_durable.check),
    (whole_file_versions.NAME, whole_file_versions.check),
    (recovery_explained.NAME, recovery_explained.check),
    (no_lost_acks.NAME, no_lost_acks.check),
    (no_duplicates.NAME, no_duplicates.check),
    (no_phantoms.NAME, no_phantoms.check),
    (ledger_integrity.NAME, ledger_integrity.check),
    (snapshot_consistent.NAME, snapshot_consistent.check),
]
CHECKER_NAMES = [n for n, _ in ALWAYS] + [positions_match.NAME, kill_switch_persisted.NAME]
VERIFY_NAMESPACE = uuid.UUID("6f1d2a1e-4c55-4f59-9d7e-5e1f2a3b4c5d")


def verify_intent(key: str) -> str:
    return str(uuid.uuid5(VERIFY_NAMESPACE, key))


def _op(index: int, **kw: Any) -> Op:
    return Op(index=index, scenario="crashstates", time=float(index), wall=datetime.now(UTC), **kw)


def expected_kill_switch(ops: list[TraceOp], point: int, reasons: list[str]) -> KillSwitchState | None:
    """Active with its reason if an activation was acknowledged and no later change of the switch (a reset
    writing its file) had started by the crash point; else None (nothing to hold the engine to)."""
    last_ack: TraceOp | None = None
    for op in ops[: point + 1]:
        if op.kind == "ack" and op.request in ("kill_switch_activate", "kill_switch_reset"):
            last_ack = op
    if last_ack is None or last_ack.request != "kill_switch_activate":
        return None
    for op in ops[last_ack.index + 1 : point + 1]:
        if op.kind != "ack" and any(p and "kill_switch" in p for p in (op.path, op.dest)):
            return None
    body = last_ack.body or {}
    return KillSwitchState(active=True, reason=body.get("reason"), activated_at=body.get("activated_at"))


def observation(
    state: CrashState,
    ops: list[TraceOp],
    blobs: dict[str, bytes],
    rec: RecoveryResult,
    data_dir: str,
    reasons: list[str],
    versions: dict[str, list[str]],
) -> CrashObservation:
    acked = [op for op in ops[: state.point + 1] if op.kind == "ack" and op.request == "signal"]
    history = [
        _op(
            i,
            process="workload",
            type="ok",
            f="signal",
            intent_id=uuid.UUID(op.intent_id),
            status_code=200,
            value=op.body or {},
        )
        for i, op in enumerate(acked)
        if op.intent_id
    ]
    ledger_digest = state.files.get(LEDGER)
    crash_ledger = scan_ledger(blobs[ledger_digest], LEDGER) if ledger_digest else None
    if crash_ledger is not None and (tear := crash_ledger.torn_tail) is not None:
        # The crash tore the ledger's tail: the engine must cut exactly that and say so (ledger_integrity).
        result = {"record_offset": tear.offset, "dropped_bytes": crash_ledger.size - tear.offset}
        history.append(_op(len(history), process="nemesis", type="invoke", f="inject", fault="crash-tear"))
        history.append(
            _op(
                len(history),
                process="nemesis",
                type="ok",
                f="inject",
                fault="crash-tear",
                value={"kind": "tear_ledger_tail", "result": result},
            )
        )
    if rec.verify_status == 200 and rec.verify_body:
        history.append(
            _op(
                len(history),
                process="verify",
                type="ok",
                f="signal",
                status_code=200,
                intent_id=uuid.UUID(str(rec.verify_body.get("intent_id"))),
                value=rec.verify_body,
            )
        )
    started = rec.started and rec.crash is None
    return CrashObservation(
        scenario="crashstates",
        history=history,
        ledger_api=rec.ledger_api,
        ledger_file=rec.ledger_file if started else crash_ledger,
        snapshot=rec.snapshot if started else None,
        broker_attempts=[BrokerAttempt.model_validate(a) for a in rec.broker_attempts],
        broker_orders=[BrokerOrder.model_validate(o) for o in rec.broker_orders],
        broker_positions=rec.broker_positions,
        engine_state=rec.engine_state,
        kill_switch_before=expected_kill_switch(ops, state.point, reasons),
        kill_switch_after=KillSwitchState.model_validate(rec.kill_switch)
        if rec.kill_switch and "active" in rec.kill_switch
        else None,
        data_dir=data_dir,
        crash_ledger=crash_ledger,
        crash_files=state.files,
        file_versions=versions,
        acked_signals=[op.intent_id for op in acked if op.intent_id],
        kill_switch_reasons=reasons,
        recovery=rec,
    )


def judge_state(obs: CrashObservation) -> list[Verdict]:
    verdicts = []
    checks = list(ALWAYS)
    rec = obs.recovery
    if rec is not None and rec.started and rec.crash is None:
        checks.append((positions_match.NAME, positions_match.check))
    if obs.kill_switch_before is not None:
        checks.append((kill_switch_persisted.NAME, kill_switch_persisted.check))
    for name, check in checks:
        try:
            verdicts.append(check(obs))
        except Exception as exc:  # a checker bug is a failed verdict, never a silent pass
            verdicts.append(
                Verdict(name=name, ok=False, summary=f"checker crashed: {type(exc).__name__}: {exc}")
            )
    return verdicts

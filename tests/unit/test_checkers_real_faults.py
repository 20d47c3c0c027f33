"""The issue-10 checkers on hand-built observations: each one fails on the engine bug it exists for and passes
on the correct behaviour (the lab tests and the self-test prove the same against real engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from chaos_lab.checkers import balance_fresh, clock_safety, fsync_fatal, health_truth, no_false_rejects
from chaos_lab.models import (
    BrokerAttempt,
    BrokerOrder,
    LedgerRecord,
    LedgerScan,
    Observation,
    Op,
)
from chaos_lab.synthetic import inject_value

T0 = datetime(2026, 12, 1, tzinfo=UTC)


class Hist:
    """Ops at chosen history times (the checkers only read times, types and values)."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def op(self, t: float, process: str, type_: str, f: str, **kw: Any) -> Op:
        op = Op(
            index=len(self.ops),
            process=process,
            type=type_,
            f=f,
            time=t,  # type: ignore[arg-type]
            wall=T0 + timedelta(seconds=t),
            **kw,
        )
        self.ops.append(op)
        return op

    def fault(self, name: str, kind: str, start: float, end: float, **params: Any) -> None:
        value = inject_value(kind, **params)
        self.op(start, "nemesis", "invoke", "inject", fault=name, value=value)
        self.op(start + 0.1, "nemesis", "ok", "inject", fault=name, value=value)
        self.op(end, "nemesis", "invoke", "heal", fault=name, value={"kind": kind})
        self.op(end + 0.05, "nemesis", "ok", "heal", fault=name, value={"kind": kind})

    def signal(
        self,
        sent: float,
        done: float,
        type_: str,
        status: int | None = None,
        intent: UUID | None = None,
        **value: Any,
    ) -> UUID:
        intent = intent or uuid4()
        self.op(sent, "workload", "invoke", "signal", intent_id=intent)
        self.op(
            done,
            "workload",
            type_,
            "signal",
            intent_id=intent,
            status_code=status,
            latency=done - sent,
            value=value,
        )
        return intent

    def health(
        self, sent: float, status: str, reasons: list[str], checks: dict[str, bool] | None = None
    ) -> None:
        checks = checks if checks is not None else {"ledger": status == "ready", "disk": True}
        self.op(
            sent + 0.05,
            "probe",
            "ok",
            "health",
            latency=0.05,
            value={"status": status, "reasons": reasons, "checks": checks},
        )

    def obs(self, **kw: Any) -> Observation:
        return Observation(scenario="t", history=sorted(self.ops, key=lambda o: o.time), **kw)


# -- fsync_fatal


def test_fsync_fatal_flags_an_ack_while_every_fsync_fails_and_passes_refusals() -> None:
    h = Hist()
    h.fault("fsync", "fsync_eio", 1.0, 3.0)
    h.signal(1.3, 1.4, "fail", 507, stage="ledger")
    good = fsync_fatal.check(h.obs())
    assert good.ok, good.summary
    h.signal(1.5, 1.6, "ok", 200, outcome="filled")
    bad = fsync_fatal.check(h.obs())
    assert not bad.ok and "answered 200" in bad.summary


def test_fsync_fatal_once_needs_the_failure_to_surface() -> None:
    h = Hist()
    h.fault("once", "fsync_eio_once", 1.0, 2.0)
    h.signal(1.2, 1.3, "ok", 200)
    assert not fsync_fatal.check(h.obs()).ok  # retried and forgotten: every answer 200
    h.signal(1.4, 1.5, "info", 202, stage="ledger")
    assert fsync_fatal.check(h.obs()).ok


def test_fsync_fatal_once_counts_a_refusal_answered_while_the_inject_still_ran() -> None:
    """The one failure bites as soon as libfiu arms it, before the orchestrator's inject() returns: an outcome
    record that took it surfaced (a false alarm on the correct engine in a clean-clone make test)."""
    h = Hist()
    h.fault("once", "fsync_eio_once", 1.0, 2.0)  # inject invoked at 1.0, returned at 1.1
    h.signal(0.9, 1.05, "info", 202, stage="ledger")
    h.signal(1.2, 1.3, "ok", 200)
    assert fsync_fatal.check(h.obs()).ok
    before = Hist()
    before.fault("once", "fsync_eio_once", 1.0, 2.0)
    before.signal(0.8, 0.95, "info", 202, stage="ledger")  # answered before the fault existed
    before.signal(1.2, 1.3, "ok", 200)
    assert not fsync_fatal.check(before.obs()).ok


def test_fsync_fatal_without_the_fault_is_nothing_to_judge() -> None:
    assert fsync_fatal.check(Hist().obs()).unknown


# -- health_truth


def _ledger_window(h: Hist) -> None:
    h.fault("fsync", "fsync_eio", 1.0, 3.0)
    h.signal(1.2, 1.3, "fail", 507, stage="ledger")


def test_health_truth_flags_ready_while_the_ledger_cannot_write() -> None:
    h = Hist()
    _ledger_window(h)
    h.health(1.5, "ready", [], {"ledger": True, "disk": True})
    h.health(3.5, "ready", [], {"ledger": True, "disk": True})
    verdict = health_truth.check(h.obs())
    assert not verdict.ok and "did not report" in verdict.summary


def test_health_truth_passes_degraded_ledger_then_ready() -> None:
    h = Hist()
    _ledger_window(h)
    h.health(1.5, "degraded", ["ledger: write failed: EIO"])
    h.health(3.5, "ready", [], {"ledger": True, "disk": True})
    h.op(20.0, "setup", "ok", "end")
    assert health_truth.check(h.obs()).ok


def test_health_truth_flags_stuck_degraded_and_self_contradiction() -> None:
    h = Hist()
    _ledger_window(h)
    h.health(1.5, "degraded", ["ledger: EIO"])
    h.health(4.0, "degraded", ["ledger: EIO"])  # healed at 3.0, never ready again
    h.health(5.0, "ready", [], {"ledger": False, "disk": True})  # says ready with a failed check
    h.op(20.0, "setup", "ok", "end")
    verdict = health_truth.check(h.obs())
    assert not verdict.ok
    assert "contradict" in verdict.summary


# -- no_false_rejects


def _broker_obs(
    ledger: list[tuple[str, str, dict[str, Any]]],
    ops: Hist | None = None,
    filled: float = 2.0,
    knobs: bool = True,
    filled_at: float | None = None,
) -> Observation:
    records = [
        LedgerRecord(
            offset=0,
            length=1,
            seq=i + 1,
            entry_type=t,
            intent_id=UUID(k),
            timestamp=T0.isoformat(),
            payload=p,
        )
        for i, (t, k, p) in enumerate(ledger)
    ]
    h = ops or Hist()
    return h.obs(
        ledger_file=LedgerScan(path="ledger.log", size=0, records=records),
        broker_orders=[
            BrokerOrder(
                broker_order_id="B1",
                client_order_id=COID,
                symbol="EURUSD",
                side="BUY",
                quantity=filled,
                price=100.0,
            )
        ],
        broker_knob_hits=[{"client_order_id": COID, "order_seq": 1, "mode": "commit_then_5xx"}]
        if knobs
        else [],
        broker_attempts=[]
        if filled_at is None
        else [
            BrokerAttempt(
                seq=1,
                client_order_id=COID,
                received_at=T0 + timedelta(seconds=filled_at),
                duplicate=False,
                outcome="filled",
            )
        ],
    )


INTENT = UUID("11111111-1111-1111-1111-111111111111")
COID = "SOLAT-" + INTENT.hex
INTENT_ROW = (
    "intent",
    str(INTENT),
    {"symbol": "EURUSD", "side": "BUY", "quantity": 4.0, "client_order_id": COID},
)
FILL_ROW = (
    "fill",
    str(INTENT),
    {"client_order_id": COID, "quantity": 4.0, "symbol": "EURUSD", "side": "BUY"},
)


def test_no_false_rejects_flags_a_committed_order_booked_as_rejected() -> None:
    obs = _broker_obs([INTENT_ROW, ("reject", str(INTENT), {"reason": "503", "stage": "broker"})])
    verdict = no_false_rejects.check(obs, require_knob_hits=True)
    assert not verdict.ok and "closed as reject" in verdict.summary and "no fill" in verdict.summary


def test_no_false_rejects_flags_the_client_told_rejected_and_a_wrong_quantity() -> None:
    h = Hist()
    h.signal(1.0, 1.1, "fail", 409, intent=INTENT)
    verdict = no_false_rejects.check(_broker_obs([INTENT_ROW, FILL_ROW], h, filled=2.0))
    assert not verdict.ok
    assert "answered `rejected`" in verdict.summary and "differ" in verdict.summary


def test_no_false_rejects_allows_a_rejected_intent_resent_and_filled_later() -> None:
    """A 409 while the kill switch was on, then the client resends the intent under its id after the reset
    and the broker fills it: the 409 was true when given. The same fill before the resend contradicts it."""
    for filled_at, ok in ((5.2, True), (3.0, False)):
        h = Hist()
        h.signal(1.0, 1.1, "fail", 409, intent=INTENT)
        h.signal(5.0, 5.5, "ok", 200, intent=INTENT)
        obs = _broker_obs([INTENT_ROW, FILL_ROW], h, filled=4.0, filled_at=filled_at)
        verdict = no_false_rejects.check(obs)
        assert verdict.ok is ok, (filled_at, verdict.summary)


def test_no_false_rejects_ignores_a_refused_connection() -> None:
    """The engine was down (OOM-killed): the client's connection was refused, no status, no answer. That is
    not the engine calling the order rejected (the explorer's false alarm, seed 9 index 0)."""
    h = Hist()
    h.signal(1.0, 1.1, "fail", None, intent=INTENT)
    assert no_false_rejects.check(_broker_obs([INTENT_ROW, FILL_ROW], h, filled=4.0)).ok


def test_no_false_rejects_passes_a_resolved_partial_fill_and_needs_the_knob() -> None:
    fill = (
        "reconciled",
        str(INTENT),
        {"client_order_id": COID, "quantity": 2.0, "symbol": "EURUSD", "side": "BUY"},
    )
    assert no_false_rejects.check(_broker_obs([INTENT_ROW, fill]), require_knob_hits=True).ok
    assert not no_false_rejects.check(_broker_obs([INTENT_ROW, fill], knobs=False), require_knob_hits=True).ok


# -- clock_safety and balance_fresh


def _clock_obs(
    stamps: list[datetime], offset: float, refused: bool = False, answered: bool = True, disk: bool = False
) -> Observation:
    h = Hist()
    h.fault("clock", "clock_step", 1.0, 5.0, offset_s=offset)
    if disk:
        h.fault("full", "disk_fill", 1.5, 2.5)
    if answered:  # a record was written on the stepped clock
        h.signal(1.5, 1.6, "ok", 200)
    if refused:
        h.signal(2.0, 2.1, "fail", 507, stage="ledger")
    records = [
        LedgerRecord(
            offset=0,
            length=1,
            seq=i + 1,
            entry_type="kill_switch",
            intent_id=UUID(int=0),
            timestamp=ts.isoformat(),
            payload={},
        )
        for i, ts in enumerate(stamps)
    ]
    return h.obs(ledger_file=LedgerScan(path="ledger.log", size=0, records=records))


def test_clock_safety_wants_the_backward_step_in_the_ledger_and_no_refusal() -> None:
    forward = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    back = [T0, T0 + timedelta(seconds=1), T0 - timedelta(seconds=399)]
    assert not clock_safety.check(_clock_obs(forward, -400.0)).ok  # the step never reached the engine
    assert clock_safety.check(_clock_obs(back, -400.0)).ok
    refused = clock_safety.check(_clock_obs(back, -400.0, refused=True))
    assert not refused.ok and "refused" in refused.summary


def test_clock_safety_leaves_to_other_faults_what_is_theirs() -> None:
    """In an explored schedule the step may hold while no signal was answered (no record on the skewed clock:
    its direction cannot show) or while the disk is full (a ledger refusal is the disk's)."""
    forward = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    back = [T0, T0 + timedelta(seconds=1), T0 - timedelta(seconds=399)]
    assert clock_safety.check(_clock_obs(forward, -400.0, answered=False)).ok
    assert clock_safety.check(_clock_obs(back, -400.0, refused=True, disk=True)).ok


def _attempt(at: datetime, coid: str = COID) -> BrokerAttempt:
    return BrokerAttempt(seq=1, client_order_id=coid, received_at=at, duplicate=False, outcome="filled")


def test_balance_fresh_flags_an_order_on_a_balance_older_than_the_limit() -> None:
    reads = [T0]
    stale = Observation(
        scenario="t", broker_account_reads=reads, broker_attempts=[_attempt(T0 + timedelta(seconds=5))]
    )
    fresh = Observation(
        scenario="t",
        broker_account_reads=[*reads, T0 + timedelta(seconds=4.5)],
        broker_attempts=[_attempt(T0 + timedelta(seconds=5))],
    )
    assert not balance_fresh.check(stale, max_age_s=3.0).ok
    assert balance_fresh.check(fresh, max_age_s=3.0).ok
    assert not balance_fresh.check(Observation(scenario="t"), max_age_s=3.0).ok

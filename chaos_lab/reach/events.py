"""Reach events, from two sources: the engine's `REACH {...}` stdout lines (solat_engine/reach.py), placed on
the history's time axis by the container runtime's own timestamps (a faked engine clock cannot move them),
and the lab's records (history, broker record), where the lab sees a moment better than the engine does.

`ENGINE_EVENTS` and `LAB_EVENTS` name every event a goal may ask for, with one line of meaning each."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from chaos_lab.models import Observation, Op, ReachEvent
from chaos_lab.workload.history import time_on_axis

ENGINE_PREFIX = "REACH "

ENGINE_EVENTS: dict[str, str] = {
    "ledger_write_failed": "a ledger append's write or fsync failed (op, errno)",
    "ledger_recovery_failed": "repairing the ledger after a failed write failed again (errno)",
    "recovery_record_written": "a recovery record was written (torn tail or failed batch dropped)",
    "snapshot_write_failed": "a position-snapshot write failed (errno)",
    "snapshot_written": "a position snapshot was written",
    "snapshot_ignored": "the snapshot was not used at start-up (why)",
    "kill_switch_save_failed": "the kill-switch file could not be written (errno, active)",
    "kill_switch_restored": "the kill-switch file was read at start-up (active)",
    "kill_switch_unreadable": "the kill-switch file was unreadable at start-up: failed closed",
    "kill_switch_tripped": "the kill switch was activated (cause: operator, ledger_corrupt, position_drift)",
    "config_write_failed": "config.json could not be written (errno)",
    "bars_write_failed": "a bar file could not be written (errno)",
    "bars_read_failed": "a bar file could not be read (why or errno)",
    "broker_request_failed": "an order, lookup or account request to the broker timed out, lost its "
    "connection or got a 5xx (call, error)",
    "broker_probe_failed": "the engine's background /health probe of the broker failed (error)",
    "reconcile_lookup": "start-up reconcile looked an open intent up at the broker (result)",
    "retry_lookup": "a client's retry of an open intent looked it up at the broker (result)",
    "startup_reconcile_failed": "start-up reconcile failed and will retry (error)",
    "startup_reconciled": "start-up reconcile finished (resolved, drift)",
    "balance_stale_refused": "an order was refused: the balance was too old and could not be refreshed",
    "balance_refreshed_stale": "the balance was too old and was refreshed before an order",
    "refused_to_trade": "the engine refused a signal (stage: risk or ledger; why or errno)",
    "stall": "the engine did not run for a while (what: process or event_loop; seconds)",
}
LAB_EVENTS: dict[str, str] = {
    "signal_answered": "a client signal completed (outcome: ok, fail or info; status)",
    "broker_order_received": "the broker received an order request (outcome)",
    "broker_knob_hit": "a broker ambiguity knob fired on an order (mode)",
    "workload_hit": "a fault struck while signals were in flight or a burst was sending (in_flight)",
    "cpu_throttled": "the kernel throttled the engine's cgroup while a CPU quota held (periods, seconds)",
}
KNOWN: frozenset[str] = frozenset(ENGINE_EVENTS) | frozenset(LAB_EVENTS)

BURST_GAP_S = 1.0  # a burst counts as running across a fault if it sent within this much before and after


def _stamp(text: str) -> datetime | None:
    """Docker's RFC 3339 stamp with nanoseconds (`2026-12-04T17:30:01.123456789Z`), to microseconds."""
    try:
        date, _, frac = text.rstrip("Z").partition(".")
        return datetime.fromisoformat(f"{date}.{(frac + '000000')[:6]}").replace(tzinfo=UTC)
    except ValueError:
        return None


def engine_events(obs: Observation, log: str) -> list[ReachEvent]:
    """Every well-formed `REACH` line of a timestamped engine log from the history's start on."""
    events = []
    for line in log.splitlines():
        stamp, _, rest = line.partition(" ")
        if not rest.startswith(ENGINE_PREFIX):
            continue
        wall = _stamp(stamp)
        try:
            record = json.loads(rest[len(ENGINE_PREFIX):])
        except json.JSONDecodeError:
            continue
        t = None if wall is None else time_on_axis(obs.history, wall)
        if t is None or t < 0 or not isinstance(record, dict) or "event" not in record:
            continue
        name = str(record.pop("event"))
        events.append(ReachEvent(name=name, time=round(t, 3), source="engine", fields=record))
    return events


def _signal_events(history: list[Op]) -> list[ReachEvent]:
    return [
        ReachEvent(
            name="signal_answered",
            time=op.time,
            source="lab",
            fields={"outcome": op.type, "status": op.status_code or 0, "process": op.process},
        )
        for op in history
        if op.f == "signal" and op.type != "invoke" and op.process in ("workload", "verify")
    ]


def _broker_events(obs: Observation) -> list[ReachEvent]:
    events, first_seen = [], {}
    for attempt in obs.broker_attempts:
        t = time_on_axis(obs.history, attempt.received_at)
        if t is None:
            continue
        first_seen.setdefault(attempt.client_order_id, t)
        events.append(ReachEvent(name="broker_order_received", time=round(t, 3), source="lab",
                                 fields={"outcome": attempt.outcome}))
    for hit in obs.broker_knob_hits:
        t = first_seen.get(str(hit.get("client_order_id")))
        if t is not None:
            events.append(ReachEvent(name="broker_knob_hit", time=t, source="lab",
                                     fields={"mode": str(hit.get("mode"))}))
    return events


def _workload_hits(history: list[Op]) -> list[ReachEvent]:
    """At each inject: the client signals in flight, or a burst that sent just before and goes on after."""
    signals = [op for op in history if op.f == "signal" and op.process == "workload"]
    done = {op.index: op.time for op in signals if op.type != "invoke"}
    invokes = [op for op in signals if op.type == "invoke"]
    # A completion answers its invoke: pair them per intent in history order.
    pending: dict[object, list[Op]] = {}
    ends: dict[int, float] = {}
    for op in signals:
        if op.type == "invoke":
            pending.setdefault(op.intent_id, []).append(op)
        elif pending.get(op.intent_id):
            ends[pending[op.intent_id].pop(0).index] = done[op.index]
    events = []
    for op in history:
        if not (op.process == "nemesis" and op.f == "inject" and op.type == "invoke"):
            continue
        t = op.time
        in_flight = sum(1 for i in invokes if i.time <= t and ends.get(i.index, float("inf")) >= t)
        before = any(t - BURST_GAP_S <= i.time <= t for i in invokes)
        after = any(t < i.time <= t + BURST_GAP_S for i in invokes)
        if in_flight or (before and after):
            events.append(ReachEvent(name="workload_hit", time=t, source="lab",
                                     fields={"in_flight": in_flight, "fault": op.fault or ""}))
    return events


def _measured_by_faults(history: list[Op]) -> list[ReachEvent]:
    """What a fault measured in its window (`events` in its heal's result), at its heal: the window's end."""
    healing: dict[str, float] = {}
    events = []
    for op in history:
        if op.process != "nemesis" or op.f != "heal" or op.fault is None:
            continue
        if op.type == "invoke":
            healing[op.fault] = op.time
            continue
        for record in op.value.get("result", {}).get("events", ()) if op.type == "ok" else ():
            fields = {k: v for k, v in record.items() if k != "event"}
            events.append(ReachEvent(name=str(record["event"]), time=healing.get(op.fault, op.time),
                                     source="lab", fields=fields))
    return events


def lab_events(obs: Observation) -> list[ReachEvent]:
    return [*_signal_events(obs.history), *_broker_events(obs), *_workload_hits(obs.history),
            *_measured_by_faults(obs.history)]


def gather(obs: Observation, engine_log: str) -> list[ReachEvent]:
    """All reach events of a run, in time order."""
    return sorted([*engine_events(obs, engine_log), *lab_events(obs)], key=lambda e: e.time)


def counts(events: list[ReachEvent]) -> dict[str, int]:
    return dict(sorted(Counter(e.name for e in events).items()))

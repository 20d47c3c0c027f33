"""Fail closed on a full disk: while the disk was full, no order reached the broker without its intent record
in the ledger, and no signal the engine rejected as not-durable (507) reached the broker on that answer."""

from __future__ import annotations

from chaos_lab.checkers.common import (
    broker_times,
    clip,
    completions,
    contradicted_answers,
    history_time_of,
    inside,
    intent_coids,
    ledger_sources,
    unknown,
    windows,
)
from chaos_lab.effects import Effect
from chaos_lab.models import Observation, Verdict

NAME = "fail_closed"
APPLIES_TO = frozenset({Effect.DISK_FULL})


def check(obs: Observation, min_ops_in_window: int = 0) -> Verdict:
    full = [w for w in windows(obs) if w.has(Effect.DISK_FULL)]
    if not full:
        return unknown(NAME, "no disk-full window in the history")
    end = obs.history[-1].time if obs.history else 0.0
    rows = [r for rs in ledger_sources(obs).values() for r in rs]
    known = intent_coids(rows)
    during_full = []
    for attempt in obs.broker_attempts:
        t = history_time_of(obs, attempt.received_at)
        if t is not None and any(inside(t, w, end) for w in full):
            during_full.append(attempt)
    unrecorded = [
        f"{a.client_order_id} (attempt {a.seq})" for a in during_full if a.client_order_id not in known
    ]
    rejected = [op for op in completions(obs) if op.status_code == 507 and op.intent_id is not None]
    leaked = contradicted_answers(rejected, obs, broker_times(obs))
    ops_in = [op for op in completions(obs) if any(inside(op.time, w, end) for w in full)]
    evidence = {
        "windows": [(round(w.start, 3), None if w.end is None else round(w.end, 3)) for w in full],
        "fill": [w.result for w in full],
        "ops_in_window": len(ops_in),
        "outcomes_in_window": {t: sum(1 for op in ops_in if op.type == t) for t in ("ok", "fail", "info")},
        "broker_attempts_in_window": len(during_full),
        "rejected_507": len(rejected),
        "orders_without_intent": clip(unrecorded),
        "rejected_but_sent": clip(leaked),
    }
    if unrecorded or leaked:
        return Verdict(
            name=NAME,
            ok=False,
            evidence=evidence,
            summary=f"{len(unrecorded)} orders reached the broker without an intent record while the "
            f"disk was full; {len(leaked)} signals answered 507 reached the broker anyway",
        )
    if len(ops_in) < min_ops_in_window:
        return Verdict(
            name=NAME,
            ok=False,
            evidence=evidence,
            summary=f"only {len(ops_in)} signals completed while the disk was full "
            f"(need {min_ops_in_window}): the fault missed the workload",
        )
    return Verdict(
        name=NAME,
        ok=True,
        evidence=evidence,
        summary=f"{len(ops_in)} signals during the full disk ({len(rejected)} answered 507), "
        f"every broker order had its intent record",
    )

"""Fail closed on a full disk: while the disk was full, no order reached the broker without its intent record
in the ledger, and no signal the engine rejected as not-durable (507) reached the broker on that answer."""

from __future__ import annotations

from chaos_lab.checkers.common import (
    clip,
    coid_for,
    completions,
    history_time_of,
    inside,
    intent_coids,
    ledger_sources,
    windows,
)
from chaos_lab.models import Observation, Op, Verdict

NAME = "fail_closed"


def check(obs: Observation, min_ops_in_window: int = 0) -> Verdict:
    full = [w for w in windows(obs) if w.kind == "disk_fill"]
    if not full:
        return Verdict(
            name=NAME, ok=False, summary="no disk-full window in the history: the fault never happened"
        )
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
    leaked = _sent_despite_507(obs, rejected)
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


def _sent_despite_507(obs: Observation, rejected: list[Op]) -> list[str]:
    """Intents whose order reached the broker although the engine answered 507 ("not durable, not sent").

    A 507 speaks for the intent until the client sends it again: a client may resubmit a rejected intent
    under its id once the disk has room, and that order is legitimately sent. So an order counts against a
    507 only if the broker got it before the intent's next submission (or there was none); an order from
    before the 507 counts too, since the engine then called an order it had sent "not sent"."""
    sent_at: dict[str, list[float]] = {}
    for attempt in obs.broker_attempts:
        t = history_time_of(obs, attempt.received_at)
        sent_at.setdefault(attempt.client_order_id, []).append(t if t is not None else 0.0)
    submitted: dict[str, list[float]] = {}
    for op in obs.history:
        if op.f == "signal" and op.type == "invoke" and op.intent_id is not None:
            submitted.setdefault(str(op.intent_id), []).append(op.time)
    leaked: list[str] = []
    for op in rejected:
        if op.intent_id is None or str(op.intent_id) in leaked:
            continue
        again = min((t for t in submitted.get(str(op.intent_id), []) if t > op.time), default=float("inf"))
        if any(t < again for t in sent_at.get(coid_for(op.intent_id), [])):
            leaked.append(str(op.intent_id))
    return leaked

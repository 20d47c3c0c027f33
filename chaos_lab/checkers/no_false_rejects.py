"""An order the broker committed is never called rejected and never lost: no `reject`/`not_sent` record and no
409 to the client for it (before the client sends it again), and the ledger holds its fill with the quantity
the broker filled (an IOC partial fill included). This is what a broker that commits and then answers 5xx,
drops the connection or answers late tests: an engine that takes such an answer as a definite rejection
loses a real position.

With `require_knob_hits`, the broker's ambiguity knob must have hit at least one order (else nothing was
tested)."""

from __future__ import annotations

from collections import defaultdict

from chaos_lab.checkers.common import (
    broker_times,
    clip,
    completions,
    contradicted_answers,
    judge,
    ledger_sources,
    unknown,
)
from chaos_lab.effects import Effect
from chaos_lab.models import Observation, Verdict

NAME = "no_false_rejects"
APPLIES_TO = frozenset({Effect.BROKER_AMBIGUOUS})
QTY_TOLERANCE = 1e-9


def check(obs: Observation, require_knob_hits: bool = False) -> Verdict:
    if not obs.broker_orders and not require_knob_hits:
        return unknown(NAME, "the broker committed no order")
    sources = ledger_sources(obs)
    if not sources:
        return Verdict(name=NAME, ok=False, summary="no ledger to check against (neither file nor API)")
    committed = {o.client_order_id: o for o in obs.broker_orders}
    problems: list[str] = []
    evidence: dict[str, object] = {"broker_orders": len(committed), "knob_hits": clip(obs.broker_knob_hits)}
    if require_knob_hits and not obs.broker_knob_hits:
        problems.append("the broker's ambiguity knob hit no order: nothing was tested")
    rejections = [
        op
        for op in completions(obs)
        # the engine's own answer: a refused connection (engine down, no status) says nothing about the order
        if op.type == "fail" and op.status_code is not None and op.intent_id is not None
    ]
    filled_at = broker_times(obs, created_only=True)
    # an order with no attempt on record was filled at an unknown time: before any answer
    told_rejected = contradicted_answers(
        rejections, obs, {c: filled_at.get(c, [float("-inf")]) for c in committed}
    )
    if told_rejected:
        problems.append(f"{len(told_rejected)} signals answered `rejected` although the broker filled them")
        evidence["told_rejected"] = clip(told_rejected)
    for source, rows in sources.items():
        coid_of = {
            r.intent_id: str(r.payload.get("client_order_id")) for r in rows if r.entry_type == "intent"
        }
        closed_wrongly = sorted(
            {
                coid_of.get(r.intent_id, "?")
                for r in rows
                if r.entry_type in ("reject", "not_sent") and coid_of.get(r.intent_id) in committed
            }
        )
        filled: dict[str, float] = defaultdict(float)
        for r in rows:
            if r.entry_type in ("fill", "reconciled"):
                filled[str(r.payload.get("client_order_id"))] += float(r.payload.get("quantity", 0.0))
        lost = sorted(c for c in committed if c not in filled)
        wrong_qty = sorted(
            f"{c}: ledger {filled[c]:g} broker {o.quantity:g}"
            for c, o in committed.items()
            if c in filled and abs(filled[c] - o.quantity) > QTY_TOLERANCE
        )
        if closed_wrongly:
            problems.append(f"{source}: {len(closed_wrongly)} committed orders closed as reject/not_sent")
        if lost:
            problems.append(f"{source}: {len(lost)} committed orders have no fill in the ledger")
        if wrong_qty:
            problems.append(f"{source}: {len(wrong_qty)} fills differ from the broker's filled quantity")
        evidence[source] = {
            "closed_wrongly": clip(closed_wrongly),
            "lost_fills": clip(lost),
            "wrong_quantity": clip(wrong_qty),
        }
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"{len(committed)} committed orders all recorded as filled, none called rejected",
    )

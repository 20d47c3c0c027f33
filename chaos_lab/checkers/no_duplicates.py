"""At most one broker order per intent, judged from the broker's own record (orders and every attempt).

A retry that reaches the broker again is fine (it is idempotent on client_order_id, the attempt is marked
duplicate), and so is a re-send after an attempt that created nothing (a `fail_next` 503 or a 409): only
`filled` attempts count. Two *orders* for one intent, a key filled twice, or an engine answering with another
intent than the one the client sent (so the broker key changes), is a double execution.
"""

from __future__ import annotations

from collections import Counter

from chaos_lab.checkers.common import clip, coid_for, completions
from chaos_lab.models import Observation, Verdict

NAME = "no_duplicates"


def check(obs: Observation) -> Verdict:
    orders_per_coid = Counter(o.client_order_id for o in obs.broker_orders)
    dup_orders = {c: n for c, n in orders_per_coid.items() if n > 1}
    filled_attempts = Counter(a.client_order_id for a in obs.broker_attempts if a.created_order)
    dup_filled = {c: n for c, n in filled_attempts.items() if n > 1}
    swapped = sorted(
        {
            f"{op.intent_id} -> {op.value.get('intent_id')}"
            for op in completions(obs)
            if op.intent_id is not None and op.value.get("intent_id") not in (None, str(op.intent_id))
        }
    )
    # Every intent the client sent, retried or not, may own at most one order under its deterministic key.
    sent = {op.intent_id for op in completions(obs) if op.intent_id is not None}
    over = {str(i): orders_per_coid[coid_for(i)] for i in sent if orders_per_coid[coid_for(i)] > 1}
    evidence = {
        "orders": len(obs.broker_orders),
        "attempts": len(obs.broker_attempts),
        "duplicate_attempts": sum(1 for a in obs.broker_attempts if a.duplicate),
        "attempts_by_outcome": dict(Counter(a.outcome for a in obs.broker_attempts)),
        "orders_per_coid_over_1": dict(clip(sorted(dup_orders.items()))),
        "filled_attempts_over_1": dict(clip(sorted(dup_filled.items()))),
        "intent_id_replaced": clip(swapped),
        "intents_with_several_orders": dict(clip(sorted(over.items()))),
    }
    bad = len(dup_orders) + len(dup_filled) + len(swapped) + len(over)
    if bad:
        return Verdict(
            name=NAME,
            ok=False,
            evidence=evidence,
            summary=f"{len(dup_orders) + len(over)} intents with several broker orders, "
            f"{len(dup_filled)} keys accepted twice, {len(swapped)} intent ids replaced",
        )
    return Verdict(
        name=NAME,
        ok=True,
        evidence=evidence,
        summary=f"{len(obs.broker_orders)} broker orders, one per intent "
        f"({evidence['duplicate_attempts']} retries deduplicated)",
    )

"""No order is sent on a balance older than the limit by the engine's own (monotonic) clock.

Ground truth is the broker's record of every balance read (GET /account) and every order, both on the
broker's true clock (not the engine's, which a clock fault moves): for each order the broker filled, the
engine's latest balance read before it must be at most `max_age_s` (+ `slack_s` for the order's own trip)
old. An engine that ages its balance with the wall clock never sees it expire after a backward step.

With the engine's own limit (300 s, longer than any run) it holds in every scenario, where it can only fail
on an order with no balance read before it; `require_orders: false` then lets a run without orders pass
(nothing to judge)."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, judge, unknown
from chaos_lab.models import Observation, Verdict

NAME = "balance_fresh"


def check(
    obs: Observation, max_age_s: float = 300.0, slack_s: float = 1.0, require_orders: bool = True
) -> Verdict:
    reads = sorted(obs.broker_account_reads)
    orders = [a for a in obs.broker_attempts if a.created_order]
    if not orders:
        if not require_orders:
            return unknown(NAME, "the broker filled no order")
        return Verdict(name=NAME, ok=False, summary="the broker filled no order: nothing was tested")
    stale: list[str] = []
    oldest = 0.0
    for attempt in orders:
        before = [r for r in reads if r <= attempt.received_at]
        if not before:
            stale.append(f"{attempt.client_order_id}: no balance read before it")
            continue
        age = (attempt.received_at - before[-1]).total_seconds()
        oldest = max(oldest, age)
        if age > max_age_s + slack_s:
            stale.append(f"{attempt.client_order_id}: balance {age:.1f}s old (limit {max_age_s:g}s)")
    evidence = {
        "orders": len(orders),
        "balance_reads": len(reads),
        "oldest_balance_s": round(oldest, 3),
        "stale": clip(stale),
    }
    problems = [f"{len(stale)} orders sent on a stale balance"] if stale else []
    return judge(
        NAME, problems, evidence, lambda: f"{len(orders)} orders, each on a balance at most {oldest:.1f}s old"
    )

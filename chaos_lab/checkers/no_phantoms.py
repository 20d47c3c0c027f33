"""No phantom order: every order the broker holds has an intent record in the ledger. An order without one
was sent before it was made durable, and after a crash nobody would know it exists."""

from __future__ import annotations

from chaos_lab.checkers.common import Row, intent_coids, judge_per_source
from chaos_lab.models import Observation, Verdict

NAME = "no_phantoms"


def check(obs: Observation) -> Verdict:
    orders = obs.broker_orders

    def phantoms(rows: list[Row]) -> list[str]:
        known = intent_coids(rows)
        return [
            f"{o.client_order_id} ({o.broker_order_id})" for o in orders if o.client_order_id not in known
        ]

    return judge_per_source(
        NAME,
        obs,
        {"orders": len(orders)},
        "phantoms",
        "phantom_count",
        phantoms,
        lambda worst: f"{worst} of {len(orders)} broker orders have no intent in the ledger",
        lambda _sources: f"all {len(orders)} broker orders have an intent record",
    )

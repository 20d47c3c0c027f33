"""No phantom order: every order the broker holds has an intent record in the ledger. An order without one
was sent before it was made durable, and after a crash nobody would know it exists."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, intent_coids, ledger_sources
from chaos_lab.models import Observation, Verdict

NAME = "no_phantoms"


def check(obs: Observation) -> Verdict:
    sources = ledger_sources(obs)
    if not sources:
        return Verdict(
            name=NAME,
            ok=False,
            summary="no ledger to check against (neither file nor API)",
            evidence={"orders": len(obs.broker_orders)},
        )
    phantoms: dict[str, list[str]] = {}
    for source, rows in sources.items():
        known = intent_coids(rows)
        found = [
            f"{o.client_order_id} ({o.broker_order_id})"
            for o in obs.broker_orders
            if o.client_order_id not in known
        ]
        if found:
            phantoms[source] = found
    if phantoms:
        worst = max(len(v) for v in phantoms.values())
        return Verdict(
            name=NAME,
            ok=False,
            summary=f"{worst} of {len(obs.broker_orders)} broker orders have no intent in the ledger",
            evidence={
                "phantoms": {k: clip(v) for k, v in phantoms.items()},
                "phantom_count": {k: len(v) for k, v in phantoms.items()},
            },
        )
    return Verdict(
        name=NAME,
        ok=True,
        summary=f"all {len(obs.broker_orders)} broker orders have an intent record",
        evidence={"orders": len(obs.broker_orders), "sources": sorted(sources)},
    )

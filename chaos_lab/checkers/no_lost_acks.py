"""No lost acknowledgement: every signal the engine answered 200 is in the ledger after recovery, with its
intent record and a broker outcome (ack/fill/reconciled). An ack the ledger forgot is an order nobody owns."""

from __future__ import annotations

from chaos_lab.checkers.common import Row, completions, judge_per_source
from chaos_lab.models import Observation, Verdict

NAME = "no_lost_acks"
OUTCOMES = frozenset({"ack", "fill", "reconciled"})


def check(obs: Observation) -> Verdict:
    acked = [op for op in completions(obs) if op.type == "ok" and op.intent_id is not None]

    def lost(rows: list[Row]) -> list[str]:
        by_intent: dict[str, set[str]] = {}
        for r in rows:
            by_intent.setdefault(r.intent_id, set()).add(r.entry_type)
        return [
            str(op.intent_id)
            for op in acked
            if "intent" not in (types := by_intent.get(str(op.intent_id), set())) or not types & OUTCOMES
        ]

    return judge_per_source(
        NAME,
        obs,
        {"acked": len(acked)},
        "missing",
        "missing_count",
        lost,
        lambda worst: f"{worst} of {len(acked)} acknowledged intents missing from the ledger",
        lambda sources: f"all {len(acked)} acknowledged intents are in the ledger ({', '.join(sources)})",
    )

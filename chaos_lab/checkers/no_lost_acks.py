"""No lost acknowledgement: every signal the engine answered 200 is in the ledger after recovery, with its
intent record and a broker outcome (ack/fill/reconciled). An ack the ledger forgot is an order nobody owns."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, completions, ledger_sources
from chaos_lab.models import Observation, Verdict

NAME = "no_lost_acks"


def check(obs: Observation) -> Verdict:
    acked = [op for op in completions(obs) if op.type == "ok" and op.intent_id is not None]
    sources = ledger_sources(obs)
    if not sources:
        return Verdict(
            name=NAME,
            ok=False,
            summary="no ledger to check against (neither file nor API)",
            evidence={"acked": len(acked)},
        )
    missing: dict[str, list[str]] = {}
    for source, rows in sources.items():
        by_intent: dict[str, set[str]] = {}
        for r in rows:
            by_intent.setdefault(r.intent_id, set()).add(r.entry_type)
        lost = [
            str(op.intent_id)
            for op in acked
            if "intent" not in by_intent.get(str(op.intent_id), set())
            or not by_intent[str(op.intent_id)] & {"ack", "fill", "reconciled"}
        ]
        if lost:
            missing[source] = lost
    if missing:
        worst = max(len(v) for v in missing.values())
        return Verdict(
            name=NAME,
            ok=False,
            summary=f"{worst} of {len(acked)} acknowledged intents missing from the ledger",
            evidence={
                "acked": len(acked),
                "missing": {k: clip(v) for k, v in missing.items()},
                "missing_count": {k: len(v) for k, v in missing.items()},
            },
        )
    return Verdict(
        name=NAME,
        ok=True,
        summary=f"all {len(acked)} acknowledged intents are in the ledger ({', '.join(sources)})",
        evidence={"acked": len(acked), "sources": sorted(sources)},
    )

"""An acknowledgement is only sent for what is already durable: at the crash point, before any recovery, the
ledger on disk holds the intent and an outcome (ack/fill/reconciled) of every signal answered 200 so far.

Recovery can hide an engine that answers first and writes later (reconcile re-learns the fill from the
broker); this checker judges the disk the crash left, so it cannot."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, judge
from chaos_lab.crashstates.models import CrashObservation
from chaos_lab.models import Verdict

NAME = "acks_durable"
OUTCOMES = frozenset({"ack", "fill", "reconciled"})


def check(obs: CrashObservation) -> Verdict:
    scan = obs.crash_ledger
    types: dict[str, set[str]] = {}
    for rec in scan.records if scan else []:
        types.setdefault(str(rec.intent_id), set()).add(rec.entry_type)
    missing = [
        f"{i}: on disk {sorted(types.get(i, set())) or 'nothing'}"
        for i in obs.acked_signals
        if "intent" not in types.get(i, set()) or not types.get(i, set()) & OUTCOMES
    ]
    evidence = {
        "acked": len(obs.acked_signals),
        "ledger_records": len(scan.records) if scan else 0,
        "missing": clip(missing),
    }
    problems = (
        [
            f"{len(missing)} of {len(obs.acked_signals)} acknowledged intents lack a durable intent+outcome "
            f"record at the crash point"
        ]
        if missing
        else []
    )
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"all {len(obs.acked_signals)} acknowledged intents were durable when acknowledged",
    )

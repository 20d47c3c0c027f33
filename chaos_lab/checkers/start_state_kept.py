"""A run that started from production's data keeps that data: every record the captured ledger held is still
in the ledger after the run, unchanged at its seq, and every intent the capture left open has been resolved
by the start-up reconcile (a fill, a reconciled fill, `not_sent` or a rejection).

An engine that rewrites, drops or renumbers history at start-up, or whose reconcile skips some of the intents
a crash left open, starts from production's state and walks away from it; positions may still match the
broker, so nothing else notices. Nothing to judge without a captured ledger; open intents are not judged
when the engine never completed its start-up reconcile (it refused to trade, which other checkers judge).
"""

from __future__ import annotations

from chaos_lab.checkers.common import clip, judge, unknown
from chaos_lab.models import LedgerRecord, Observation, Verdict

NAME = "start_state_kept"
TERMINAL = frozenset({"fill", "reconciled", "reject", "not_sent"})


def _key(r: LedgerRecord) -> tuple[str, str, str]:
    return r.entry_type, str(r.intent_id), repr(sorted(r.payload.items()))


def check(obs: Observation) -> Verdict:
    start = obs.start_ledger
    if start is None or not start.records:
        return unknown(NAME, "no captured ledger")
    if obs.ledger_file is None:
        return Verdict(
            name=NAME,
            ok=False,
            evidence={"captured_records": len(start.records)},
            summary="the ledger could not be read after the run: no captured record is there",
        )
    after = {r.seq: r for r in obs.ledger_file.records}
    lost = [f"seq {r.seq} ({r.entry_type} {r.intent_id})" for r in start.records if r.seq not in after]
    rewritten = [
        f"seq {r.seq}: {r.entry_type} {r.intent_id} became {after[r.seq].entry_type} {after[r.seq].intent_id}"
        for r in start.records
        if r.seq in after and _key(after[r.seq]) != _key(r)
    ]
    done_before = {r.intent_id for r in start.records if r.entry_type in TERMINAL}
    opened = {r.intent_id for r in start.records if r.entry_type == "intent"} - done_before
    done_after = {r.intent_id for r in obs.ledger_file.records if r.entry_type in TERMINAL}
    reconciled = bool((obs.engine_state or {}).get("reconciled"))
    still_open = sorted(str(i) for i in opened - done_after) if reconciled else []
    problems = [
        *(f"captured record lost: {x}" for x in lost),
        *(f"captured record rewritten: {x}" for x in rewritten),
        *(f"intent {i} open in the capture is still open after the start-up reconcile" for i in still_open),
    ]
    evidence = {
        "captured_records": len(start.records),
        "records_after": len(obs.ledger_file.records),
        "open_at_start": len(opened),
        "resolved": len(opened & done_after),
        "reconciled": reconciled,
        "lost": clip(lost),
        "rewritten": clip(rewritten),
        "still_open": clip(still_open),
    }
    kept = f"all {len(start.records)} captured records kept"
    resolved = (
        f"{len(opened & done_after)} of {len(opened)} open intents resolved"
        if reconciled
        else f"{len(opened)} open intents not judged (the engine did not complete its reconcile)"
    )
    return judge(NAME, problems, evidence, lambda: f"{kept}; {resolved}")

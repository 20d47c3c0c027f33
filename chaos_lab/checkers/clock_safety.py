"""A wall-clock step never reorders or rejects the ledger: while the clock was skewed no signal was refused
for the ledger, the records stay in seq order with seq as the only order (timestamps may go backwards:
that a backward step shows in them is the proof the fault reached the engine), and the engine's positions
(snapshot or replay) still agree with the broker afterwards (positions_match judges that).

Refusals while a disk or fsync fault also held are that fault's, not the clock's; the direction of a step
is judged only when a signal was answered while it held (a record was written on the skewed clock).

The balance-age rule is judged by balance_fresh."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

from chaos_lab.checkers.common import clip, completions, judge, unknown
from chaos_lab.checkers.spans import certain_spans, ledger_refusal, until_engine_stops, within
from chaos_lab.effects import UNWRITABLE, Effect
from chaos_lab.models import Observation, Verdict

NAME = "clock_safety"
APPLIES_TO = frozenset({Effect.CLOCK_SKEW})
DISK_GRACE_S = 1.0  # a refusal answered just after a disk fault's heal is still that fault's


def check(obs: Observation) -> Verdict:
    spans = until_engine_stops(obs, certain_spans(obs, Effect.CLOCK_SKEW))
    if not spans:
        return unknown(NAME, "no clock fault in the history")
    if obs.ledger_file is None:
        return Verdict(name=NAME, ok=False, summary="no ledger file to judge")
    records = obs.ledger_file.records
    problems: list[str] = []
    seqs = [r.seq for r in records]
    if any(b <= a for a, b in pairwise(seqs)):  # gaps after a repair are ledger_integrity's to judge
        problems.append("ledger records are not in seq order")
    stamps = [datetime.fromisoformat(r.timestamp.replace("Z", "+00:00")) for r in records]
    backwards = [records[i].seq for i in range(1, len(stamps)) if stamps[i] < stamps[i - 1]]
    ahead = max(((b - a).total_seconds() for a, b in pairwise(stamps)), default=0.0)
    disk = certain_spans(obs, *UNWRITABLE, Effect.FSYNC_FAILS_ONCE)
    refused = [
        f"{op.intent_id}: {op.reason}"
        for op in completions(obs)
        if ledger_refusal(op)
        and any(within(op, s) for s in spans)
        and not any(d.window.start <= op.time <= d.end + DISK_GRACE_S for d in disk)
    ]
    if refused:
        problems.append(f"{len(refused)} signals refused for the ledger while the clock was skewed")
    written = [s for s in spans if any(op.type == "ok" and within(op, s) for op in completions(obs))]
    steps = [s.window.params["offset_s"] for s in written if "offset_s" in s.window.params]  # a step
    if any(float(o) < 0 for o in steps) and not backwards:
        problems.append("the clock stepped back but no ledger timestamp did: the engine never saw it")
    if any(float(o) > 0 for o in steps) and ahead < 0.5 * max(float(o) for o in steps):
        problems.append(f"the clock stepped forward but the ledger's largest leap is {ahead:.0f}s")
    evidence = {
        "records": len(records),
        "timestamps_backwards_at_seq": clip(backwards),
        "largest_forward_leap_s": round(ahead, 3),
        "refused": clip(refused),
        "spans_with_a_record": len(written),
    }
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"{len(records)} records in seq order across the clock fault(s); none refused",
    )

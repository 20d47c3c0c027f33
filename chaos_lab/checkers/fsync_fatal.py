"""A failed fsync (or write) is fatal for the data it covered: while every fsync/write of the engine fails, no
signal may be answered 200 (its records cannot be durable) and the refusals must say `ledger`; a one-shot
EIO must surface as exactly such a refusal (an engine that retries the fsync and carries on hides it: the
pages the failed fsync covered may be gone, "fsyncgate")."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, completions, judge
from chaos_lab.checkers.spans import certain_spans, invoked_at, ledger_refusal, until_engine_stops, within
from chaos_lab.effects import Effect
from chaos_lab.models import Observation, Verdict

NAME = "fsync_fatal"
ONCE_GRACE_S = 1.0  # a signal in flight when the heal started may carry the one failure


def check(obs: Observation, min_ops_in_window: int = 1) -> Verdict:
    spans = until_engine_stops(obs, certain_spans(obs, Effect.LEDGER_UNWRITABLE, Effect.FSYNC_FAILS_ONCE))
    if not spans:
        return Verdict(name=NAME, ok=False, summary="no fsync/write fault in the history: nothing was tested")
    ops = completions(obs)
    seen: set[object] = set()
    first_send = {}
    for op in sorted(ops, key=invoked_at):
        if op.intent_id not in seen:
            seen.add(op.intent_id)
            first_send[id(op)] = True
    problems: list[str] = []
    evidence: dict[str, object] = {}
    for span in spans:
        w = span.window
        if w.has(Effect.LEDGER_UNWRITABLE):
            inside = [op for op in ops if within(op, span) and id(op) in first_send]  # retries may re-read
            acked = [f"{op.intent_id} at t={op.time:.2f}s" for op in inside if op.type == "ok"]
            # Answered while the fault held (sent before it, maybe): under load few calls fit inside it.
            answered = [op for op in ops if span.start <= op.time <= span.end + ONCE_GRACE_S]
            refused = [op for op in answered if ledger_refusal(op)]
            evidence[w.name] = {
                "kind": w.kind,
                "signals_inside": len(inside),
                "ledger_refusals": len(refused),
                "acked_while_unwritable": clip(acked),
            }
            if acked:
                problems.append(
                    f"{w.name}: {len(acked)} signals answered 200 while every ledger write or fsync failed"
                )
            if len(answered) < min_ops_in_window:
                problems.append(
                    f"{w.name}: only {len(answered)} signals answered during the fault (need "
                    f"{min_ops_in_window}): it missed the workload"
                )
            elif not refused:
                problems.append(f"{w.name}: no signal was refused with stage `ledger` during the fault")
        else:
            # From the inject's invoke, not its completion: the one failure may bite while inject() still
            # runs (seen: the order's outcome record took it and was answered before the inject returned).
            surfaced = [
                op
                for op in ops
                if ledger_refusal(op) and w.start <= op.time and invoked_at(op) <= span.end + ONCE_GRACE_S
            ]
            evidence[w.name] = {"kind": w.kind, "ledger_refusals": [str(op.intent_id) for op in surfaced]}
            if not surfaced:
                problems.append(
                    f"{w.name}: the one failed fsync never surfaced as a `ledger` refusal "
                    "(retried and forgotten?)"
                )
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"{len(spans)} fsync/write fault(s): nothing acknowledged while unwritable",
    )

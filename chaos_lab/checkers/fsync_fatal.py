"""A failed fsync (or write) is fatal for the data it covered: while every fsync/write of the engine fails, no
signal may be answered 200 (its records cannot be durable) and the refusals must say `ledger`; a one-shot
EIO must surface as exactly such a refusal (an engine that retries the fsync and carries on hides it: the
pages the failed fsync covered may be gone, "fsyncgate").

Where the lab adds it by itself (an explored schedule, a scenario that does not name it) the fault may have
met no signal, or met the kill switch first: only "nothing acknowledged while unwritable" is judged there
(`min_ops_in_window: 0`, `once_must_surface: false`), and a fault that met no signal is `unknown`."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, completions, judge, unknown
from chaos_lab.checkers.spans import certain_spans, invoked_at, ledger_refusal, until_engine_stops, within
from chaos_lab.effects import Effect
from chaos_lab.models import Observation, Verdict

NAME = "fsync_fatal"
APPLIES_TO = frozenset({Effect.LEDGER_UNWRITABLE, Effect.FSYNC_FAILS_ONCE})
AUTO_PARAMS = {"min_ops_in_window": 0, "once_must_surface": False}
ONCE_GRACE_S = 1.0  # a signal in flight when the heal started may carry the one failure


def check(obs: Observation, min_ops_in_window: int = 1, once_must_surface: bool = True) -> Verdict:
    spans = until_engine_stops(obs, certain_spans(obs, Effect.LEDGER_UNWRITABLE, Effect.FSYNC_FAILS_ONCE))
    if not spans:
        return unknown(NAME, "no fsync/write fault in the history")
    ops = completions(obs)
    seen: set[object] = set()
    first_send = {}
    for op in sorted(ops, key=invoked_at):
        if op.intent_id not in seen:
            seen.add(op.intent_id)
            first_send[id(op)] = True
    problems: list[str] = []
    evidence: dict[str, object] = {}
    judged = len(spans)
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
            if not inside and not answered:
                judged -= 1  # the fault met no signal: this window says nothing
            if len(answered) < min_ops_in_window:
                problems.append(
                    f"{w.name}: only {len(answered)} signals answered during the fault (need "
                    f"{min_ops_in_window}): it missed the workload"
                )
            elif min_ops_in_window and not refused:
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
            if not once_must_surface:
                # where the one failure lands (a signal, a reconcile record) is not this run's claim
                judged -= 1
            elif not surfaced:
                problems.append(
                    f"{w.name}: the one failed fsync never surfaced as a `ledger` refusal "
                    "(retried and forgotten?)"
                )
    if not problems and not judged:
        return unknown(NAME, f"{len(spans)} fsync/write fault(s) met no signal", evidence)
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"{judged} fsync/write fault(s): nothing acknowledged while unwritable",
    )

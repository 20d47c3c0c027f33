"""/health tells the truth: every answer is self-consistent (`ready` exactly when every check passes, a
`degraded` answer names its reasons), and while the ledger cannot write (fsync/write EIO, or a full disk) it
says so: from the first order the engine refused for it until the fault is healed, /health is `degraded`
with a reason starting `ledger` (`disk` also counts on a full disk). After the heal the ledger reason must
clear by itself within `resume_within_s`, without a restart: an orchestrator routes by this answer. That is
judged only where no other fault holds in that time (a broken link may keep outcomes unrecorded, which
/health rightly reports as a ledger reason too). A fault during which no order was refused for the ledger
says nothing: the span is left out, and a run with only such spans is `unknown` for them."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, completions, judge, unknown, windows
from chaos_lab.checkers.spans import Span, certain_spans, invoked_at, ledger_refusal, until_engine_stops
from chaos_lab.effects import UNWRITABLE, Effect
from chaos_lab.models import FaultWindow, Observation, Op, Verdict

NAME = "health_truth"
APPLIES_TO = UNWRITABLE


def _prefixes(window: FaultWindow) -> tuple[str, ...]:
    """The reasons /health may give: `ledger`, and `disk` too when the disk is full."""
    return ("ledger", "disk") if window.has(Effect.DISK_FULL) else ("ledger",)


def _inconsistent(op: Op) -> str | None:
    body = op.value
    status, reasons, checks = body.get("status"), body.get("reasons"), body.get("checks")
    if status not in ("ready", "degraded") or not isinstance(checks, dict) or not isinstance(reasons, list):
        return f"t={op.time:.2f}s malformed /health answer {body}"
    if (status == "ready") != all(checks.values()):
        return f"t={op.time:.2f}s status {status} but checks {checks}"
    if status == "degraded" and not reasons:
        return f"t={op.time:.2f}s degraded without a reason"
    return None


def _judge_span(
    span: Span,
    probes: list[Op],
    refusals: list[Op],
    others: list[FaultWindow],
    end: float,
    resume_within_s: float,
) -> tuple[list[str], dict[str, object]] | None:
    w = span.window
    prefixes = _prefixes(w)
    first = min((op.time for op in refusals if span.start <= op.time <= span.end), default=None)
    evidence: dict[str, object] = {"kind": w.kind, "first_refusal_t": first}
    if first is None:
        return None  # no order was refused for the ledger during the fault: nothing to judge
    judged = [op for op in probes if invoked_at(op) >= first and op.time <= span.end]
    lies = [
        f"t={op.time:.2f}s {op.value.get('status')} {op.value.get('reasons')}"
        for op in judged
        if op.value.get("status") != "degraded"
        or not any(str(r).startswith(prefixes) for r in op.value.get("reasons", []))
    ]
    evidence.update({"probes_judged": len(judged), "untrue": clip(lies)})
    problems = (
        [
            f"{w.name}: {len(lies)} of {len(judged)} /health answers did not report the unwritable "
            f"ledger ({'/'.join(prefixes)})"
        ]
        if lies
        else []
    )
    # The ledger reason clears by itself, unless another fault holds in the meantime (a stopped engine's
    # restart is judged elsewhere; a broken link keeps outcomes unrecorded, a ledger reason too).
    horizon = span.end + resume_within_s
    busy = any(o.start <= horizon and (o.end is None or o.end >= span.end) for o in others)
    if not busy and horizon <= end:
        cleared = [
            op
            for op in probes
            if span.end < invoked_at(op)
            and op.time <= horizon
            and not any(str(r).startswith(prefixes) for r in op.value.get("reasons", []))
        ]
        evidence["cleared_after_heal"] = len(cleared)
        if not cleared:
            problems.append(f"{w.name}: /health still reported the ledger {resume_within_s}s after the heal")
    return problems, evidence


def check(obs: Observation, resume_within_s: float = 10.0) -> Verdict:
    probes = [op for op in obs.history if op.process == "probe" and op.f == "health" and op.type == "ok"]
    spans = until_engine_stops(obs, certain_spans(obs, *UNWRITABLE))
    if not probes:
        return unknown(NAME, "no /health answer in the history")
    problems: list[str] = []
    bad = [msg for op in probes if (msg := _inconsistent(op))]
    if bad:
        problems.append(f"{len(bad)} /health answers contradict themselves")
    evidence: dict[str, object] = {"probes": len(probes), "inconsistent": clip(bad)}
    refusals = [op for op in completions(obs) if ledger_refusal(op)]
    end = obs.history[-1].time
    judged = 0
    every = windows(obs)
    for span in spans:
        others = [w for w in every if w.name != span.window.name]
        outcome = _judge_span(span, probes, refusals, others, end, resume_within_s)
        if outcome is None:
            evidence[span.window.name] = "no order refused for the ledger while it held: nothing to judge"
            continue
        judged += 1
        found, evidence[span.window.name] = outcome
        problems.extend(found)
    return judge(
        NAME,
        problems,
        evidence,
        lambda: (
            f"{len(probes)} /health answers consistent; {judged} of {len(spans)} unwritable span(s) judged"
        ),
    )

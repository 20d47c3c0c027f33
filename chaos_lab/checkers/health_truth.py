"""/health tells the truth: every answer is self-consistent (`ready` exactly when every check passes, a
`degraded` answer names its reasons), and while the ledger cannot write (fsync/write EIO, or a full disk) it
says so: from the first order the engine refused for it until the fault is healed, /health is `degraded`
with a reason starting `ledger` (`disk` also counts on a full disk). After the heal it must come back to
`ready` by itself within `resume_within_s`, without a restart: an orchestrator routes by this answer."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, completions, judge
from chaos_lab.checkers.spans import Span, certain_spans, invoked_at, ledger_refusal, until_engine_stops
from chaos_lab.effects import UNWRITABLE, Effect
from chaos_lab.models import FaultWindow, Observation, Op, Verdict

NAME = "health_truth"


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
    span: Span, probes: list[Op], refusals: list[Op], stops: list[Span], end: float, resume_within_s: float
) -> tuple[list[str], dict[str, object]]:
    w = span.window
    prefixes = _prefixes(w)
    first = min((op.time for op in refusals if span.start <= op.time <= span.end), default=None)
    evidence: dict[str, object] = {"kind": w.kind, "first_refusal_t": first}
    if first is None:
        return [f"{w.name}: no order was refused for the ledger during the fault: nothing to judge"], evidence
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
    # Back to ready by itself, unless an engine-stopping fault follows (its restart is judged elsewhere).
    horizon = span.end + resume_within_s
    if not any(s.window.start <= horizon and s.end >= span.end for s in stops) and horizon <= end:
        ready = [
            op
            for op in probes
            if span.end < invoked_at(op) and op.time <= horizon and op.value.get("status") == "ready"
        ]
        evidence["ready_after_heal"] = len(ready)
        if not ready:
            problems.append(f"{w.name}: /health not ready within {resume_within_s}s after the heal")
    return problems, evidence


def check(obs: Observation, resume_within_s: float = 10.0) -> Verdict:
    probes = [op for op in obs.history if op.process == "probe" and op.f == "health" and op.type == "ok"]
    spans = until_engine_stops(obs, certain_spans(obs, *UNWRITABLE))
    if not probes:
        return Verdict(name=NAME, ok=False, summary="no /health answer in the history: nothing to judge")
    problems: list[str] = []
    bad = [msg for op in probes if (msg := _inconsistent(op))]
    if bad:
        problems.append(f"{len(bad)} /health answers contradict themselves")
    evidence: dict[str, object] = {"probes": len(probes), "inconsistent": clip(bad)}
    refusals = [op for op in completions(obs) if ledger_refusal(op)]
    stops = certain_spans(obs, Effect.ENGINE_DOWN)
    end = obs.history[-1].time
    for span in spans:
        found, evidence[span.window.name] = _judge_span(span, probes, refusals, stops, end, resume_within_s)
        problems.extend(found)
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"{len(probes)} /health answers consistent; {len(spans)} unwritable span(s) reported",
    )

"""The engine stays answerable: every /health probe during a fault was answered, except while a fault stopped
the engine (kill, stop, pause) and while it was starting again; and after the last heal it was back (ready,
or at least answering when it is expected to refuse to trade) within `recover_within_s`.

"Answered" means within the prober's read timeout (1 s, below the lab healthcheck's 3 s): a health endpoint
that hangs on a sick dependency is as good as down to an orchestrator's liveness probe."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, inside, judge, windows
from chaos_lab.effects import Effect
from chaos_lab.models import Observation, Op, Verdict
from chaos_lab.workload.client import PROBE_TIMEOUT

NAME = "availability"


def _back_at(obs: Observation, probes: list[Op]) -> float | None:
    """When the engine was first seen back after the last heal: the first probe that found it ready, or else
    the recover phase's wait (which follows the lab's own graceful restart and the end of the workload: on a
    loaded host those alone took 14-18 s, and they are the lab's time, not the engine's recovery)."""
    if obs.last_heal_at is None:
        return None
    ready = [
        op.time
        for op in probes
        if op.time >= obs.last_heal_at and op.type == "ok" and op.value.get("status") == "ready"
    ]
    seen = [t for t in (min(ready, default=None), obs.recovered_at) if t is not None]
    return min(seen, default=None)


def check(
    obs: Observation, recover_within_s: float = 20.0, restart_grace_s: float = 20.0, judge_probes: bool = True
) -> Verdict:
    """`judge_probes=False` (the explorer's): only the recovery bound is judged, not every probe."""
    ws = windows(obs)
    if not ws:
        return Verdict(name=NAME, ok=False, summary="no fault window in the history: nothing was tested")
    end = obs.history[-1].time if obs.history else 0.0
    stopping = [w for w in ws if w.has(Effect.ENGINE_DOWN)]
    others = [w for w in ws if not w.has(Effect.ENGINE_DOWN)]

    def exempt(t: float) -> bool:
        # While an engine-stopping fault is active, and while the engine boots after it is healed.
        return any(w.start <= t <= (w.end if w.end is not None else end) + restart_grace_s for w in stopping)

    probes = [op for op in obs.history if op.process == "probe" and op.type != "invoke"]
    in_faults = [op for op in probes if any(inside(op.time, w, end) for w in others) and not exempt(op.time)]
    unanswered = [f"t={op.time:.2f}s {op.type}: {op.reason}" for op in in_faults if op.type != "ok"]
    evidence: dict[str, object] = {
        "probes": len(probes),
        "probes_during_faults": len(in_faults),
        "unanswered": clip(unanswered),
    }
    problems = []
    if unanswered and judge_probes:
        problems.append(
            f"{len(unanswered)} of {len(in_faults)} health probes during faults went unanswered "
            f"within {PROBE_TIMEOUT[1]}s"
        )
    back_at = _back_at(obs, probes)
    if obs.last_heal_at is None or back_at is None:
        problems.append("the engine did not recover after the faults were healed")
    else:
        took = back_at - obs.last_heal_at
        evidence["recovery_s"] = round(took, 3)
        if took > recover_within_s:
            problems.append(f"recovered {took:.1f}s after the last heal (bound {recover_within_s}s)")
    return judge(
        NAME,
        problems,
        evidence,
        lambda: (
            f"{len(in_faults)} probes during faults all answered; back {evidence['recovery_s']}s "
            "after the last heal"
        ),
    )

"""The kill switch stops trading for as long as it is on: no signal first sent after an operator's activation
was answered and before the next reset may be accepted, nor reach the broker while the switch is on. Judged
across crashes and restarts: a switch that is forgotten after a restart, or overwritten by start-up
reconcile, lets orders through inside the window."""

from __future__ import annotations

from uuid import UUID

from chaos_lab.checkers.common import clip, coid_for, history_time_of, judge
from chaos_lab.models import Observation, Verdict

NAME = "kill_switch_honoured"


def _windows(obs: Observation) -> list[tuple[float, float]]:
    """(activation answered ok, invoke of the next reset that did not definitely fail, or end of history).
    A reset refused (403) or not saved (507) leaves the switch on: the window goes on."""
    end = obs.history[-1].time if obs.history else 0.0
    out: list[tuple[float, float]] = []
    start: float | None = None
    reset_invoked: dict[int, float] = {}
    for op in obs.history:
        if op.f == "kill_switch_activate" and op.type == "ok" and start is None:
            start = op.time
        elif op.f == "kill_switch_reset" and op.type == "invoke":
            reset_invoked[0] = op.time
        elif op.f == "kill_switch_reset" and op.type != "fail" and start is not None:
            out.append((start, reset_invoked.get(0, op.time)))
            start = None
    if start is not None:
        out.append((start, end))
    return out


def check(obs: Observation, require_activation: bool = True) -> Verdict:
    wins = _windows(obs)
    if not wins:
        if require_activation:
            return Verdict(name=NAME, ok=False, summary="no kill-switch activation answered ok: untested")
        return Verdict(name=NAME, ok=True, summary="no kill-switch activation answered ok (none required)")

    def inside(t: float) -> bool:
        return any(a < t <= b for a, b in wins)

    first_invoke: dict[UUID, float] = {}
    invokes: dict[int, float] = {}
    for op in obs.history:
        if op.f == "signal" and op.intent_id is not None and op.type == "invoke":
            first_invoke.setdefault(op.intent_id, op.time)
            invokes[op.index] = op.time
    in_window = {i for i, t in first_invoke.items() if inside(t)}
    accepted = sorted(
        {
            str(op.intent_id)
            for op in obs.history
            if op.f == "signal"
            and op.type == "ok"
            and op.intent_id in in_window
            and op.latency is not None
            and inside(op.time - op.latency)
            and inside(op.time)
        }
    )
    coids = {coid_for(i): i for i in in_window}
    sent = []
    for attempt in obs.broker_attempts:
        t = history_time_of(obs, attempt.received_at)
        if attempt.client_order_id in coids and t is not None and inside(t):
            sent.append(f"{coids[attempt.client_order_id]} (attempt {attempt.seq}, t={t:.2f}s)")
    evidence = {
        "windows": [(round(a, 3), round(b, 3)) for a, b in wins],
        "intents_sent_while_on": len(in_window),
        "accepted_while_on": clip(accepted),
        "reached_broker_while_on": clip(sent),
    }
    problems = []
    if accepted:
        problems.append(f"{len(accepted)} signals sent while the kill switch was on were accepted")
    if sent:
        problems.append(f"{len(sent)} orders reached the broker while the kill switch was on")
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"{len(in_window)} signals sent in {len(wins)} kill-switch windows, none accepted or sent",
    )

"""The kill switch stops trading for as long as it is on: no signal first sent after an operator's activation
was answered and before the next reset may be accepted, nor reach the broker while the switch is on. Judged
across crashes and restarts: a switch that is forgotten after a restart, or overwritten by start-up
reconcile, lets orders through inside the window."""

from __future__ import annotations

from uuid import UUID

from chaos_lab.checkers.common import clip, coid_for, history_time_of, judge, submissions
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

    def window_of(t: float) -> tuple[float, float] | None:
        return next(((a, b) for a, b in wins if a < t <= b), None)

    invokes = submissions(obs)
    coids = {coid_for(i): i for i in invokes}
    caused_at: dict[UUID, float] = {}  # start of the request that placed the intent's order
    sent = []
    for attempt in obs.broker_attempts:
        t = history_time_of(obs, attempt.received_at)
        intent = coids.get(attempt.client_order_id)
        if t is None or intent is None or not attempt.created_order:
            continue
        # Sent while on, by a request that itself started after the activation was answered (a request that
        # passed the check just before may still be on its way: that is not the switch failing).
        # (No request started before it only by the clocks' skew: it is the first request's order.)
        cause = max((i for i in invokes[intent] if i <= t), default=min(invokes[intent]))
        caused_at[intent] = cause
        win = window_of(t)
        if win is not None and cause > win[0]:
            sent.append(f"{intent} (attempt {attempt.seq}, t={t:.2f}s)")
    accepted = []
    for op in obs.history:
        if op.f != "signal" or op.type != "ok" or op.intent_id is None or op.latency is None:
            continue
        win = window_of(op.time - op.latency)
        # A whole request inside a window, answered ok for an order no request before the window placed (a
        # retry may be told the outcome of an order placed before the switch went on, or by a request that
        # passed the check before it and reached the broker just after: the same tolerance as above).
        if win is not None and op.time <= win[1] and caused_at.get(op.intent_id, op.time) > win[0]:
            accepted.append(str(op.intent_id))
    in_window = {i for i, ts in invokes.items() if any(window_of(t) for t in ts)}
    evidence = {
        "windows": [(round(a, 3), round(b, 3)) for a, b in wins],
        "intents_sent_while_on": len(in_window),
        "accepted_while_on": clip(sorted(set(accepted))),
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

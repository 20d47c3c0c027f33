"""The kill switch stops trading for as long as it is on: no signal first sent after an operator's activation
was answered and before the next reset may be accepted, nor reach the broker while the switch is on. Judged
across crashes and restarts: a switch that is forgotten after a restart, or overwritten by start-up
reconcile, lets orders through inside the window.

The switch is on from an operator's activation answered ok, or from the engine's own trip (its
`kill_switch_tripped` reach event: corrupt ledger, position drift), until the next reset that did not
definitely fail. While it is on no new order may reach the broker: not for a request sent after it went on,
and not from the engine alone (start-up reconcile, a retry path, a background resolver) for a request it was
already done with. Only a request that was still running when the switch went on may land just after."""

from __future__ import annotations

from uuid import UUID

from chaos_lab.checkers.common import (
    clip,
    coid_for,
    first_attempts,
    history_time_of,
    intent_of,
    judge,
    live_request,
    network_slack,
    requests_for,
    submissions,
    unknown,
)
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


def _trip_windows(obs: Observation) -> list[tuple[float, float]]:
    """(the engine's own trip, invoke of the next reset after it that did not definitely fail, or the end)."""
    end = obs.history[-1].time if obs.history else 0.0
    resets: list[float] = []
    invoked: float | None = None
    for op in obs.history:
        if op.f == "kill_switch_reset" and op.type == "invoke":
            invoked = op.time
        elif op.f == "kill_switch_reset" and op.type != "fail" and invoked is not None:
            resets.append(invoked)
    trips = [
        e.time
        for e in obs.reach
        if e.name == "kill_switch_tripped" and e.source == "engine" and e.fields.get("cause") != "operator"
    ]  # the operator's is the history's activation
    return [(t, min((r for r in resets if r >= t), default=max(end, t))) for t in trips]


def _merge(wins: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(wins):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def check(obs: Observation, require_activation: bool = True, slack_s: float = 1.0) -> Verdict:
    wins = _merge(_windows(obs) + _trip_windows(obs))
    if not wins:
        if require_activation:
            return Verdict(name=NAME, ok=False, summary="no kill-switch activation answered ok: untested")
        return unknown(
            NAME, "the kill switch was never on (no activation answered ok, no trip; none required)"
        )

    def window_of(t: float) -> tuple[float, float] | None:
        return next(((a, b) for a, b in wins if a < t <= b), None)

    invokes = submissions(obs)
    coids = {coid_for(i): i for i in invokes}
    caused_at: dict[UUID, float] = {}  # start of the request that placed the intent's order
    sent = []
    slack, requests = network_slack(obs, slack_s), requests_for(obs)
    firsts = first_attempts(obs)
    first_seqs = {a.seq for a, _ in firsts}
    for attempt, t in firsts:  # a new order while on with no request running for it: the engine alone sent it
        win = window_of(t)
        intent = intent_of(attempt.client_order_id)
        if win is not None and live_request(requests.get(intent, []) if intent else [], t, slack) is None:
            sent.append(
                f"{intent or attempt.client_order_id} (attempt {attempt.seq}, t={t:.2f}s, no request running)"
            )
    for attempt, t in ((a, history_time_of(obs, a.received_at)) for a in obs.broker_attempts):
        intent = coids.get(attempt.client_order_id)
        if t is None or intent is None or not (attempt.created_order or attempt.seq in first_seqs):
            continue
        # Sent while on, by a request that itself started after the activation was answered (a request that
        # passed the check just before may still be on its way: that is not the switch failing).
        # (No request started before it only by the clocks' skew: it is the first request's order.)
        cause = max((i for i in invokes[intent] if i <= t), default=min(invokes[intent]))
        caused_at[intent] = cause
        win = window_of(t)
        if (
            win is not None
            and cause > win[0]
            and not any(s.startswith(f"{intent} (attempt {attempt.seq},") for s in sent)
        ):
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

"""No order reaches the broker unless a client request for its intent could have placed it: the first
`POST /orders` for a client order id comes while a request for that intent ("SOLAT-" + intent_id.hex) was
running in the engine, never from the engine alone (start-up reconcile, an outcome resolver, a timer).

A request runs from its invoke until the engine answered it (the engine sends before it answers, never
after), or, for one the client gave up on (timeout, reset), until that engine process was certainly gone (a
completed SIGKILL, stop or restart in the history), else to the end. The broker stamps orders with its own,
true clock (the engine's may be faked), placed on the history's axis within `slack_s`, plus the longest
latency toxic of the run. Later attempts of the same id (retries, duplicates) are not judged here."""

from __future__ import annotations

from chaos_lab.checkers.common import (
    clip,
    first_attempts,
    intent_of,
    judge,
    live_request,
    network_slack,
    requests_for,
    unknown,
)
from chaos_lab.models import Observation, Verdict

NAME = "no_unrequested_orders"


def check(obs: Observation, slack_s: float = 1.0) -> Verdict:
    firsts = first_attempts(obs)
    if not firsts:
        return unknown(NAME, "the broker received no order", {"orders_judged": 0})
    slack = network_slack(obs, slack_s)
    requests = requests_for(obs)
    unrequested: list[str] = []
    for attempt, t in firsts:
        intent = intent_of(attempt.client_order_id)
        mine = requests.get(intent, []) if intent is not None else []
        if live_request(mine, t, slack) is not None:
            continue
        if not mine:
            why = "no request for its intent"
        elif all(r.invoked > t + slack for r in mine):
            why = f"before the first request for its intent (t={min(r.invoked for r in mine):.2f}s)"
        else:
            last = max((r for r in mine if r.invoked <= t + slack), key=lambda r: r.done)
            why = f"after the engine was done with every request for it (last over at t={last.done:.2f}s)"
        unrequested.append(f"{attempt.client_order_id} (attempt {attempt.seq}, t={t:.2f}s): {why}")
    evidence = {
        "orders_judged": len(firsts),
        "slack_s": round(slack, 3),
        "unrequested": clip(unrequested),
        "unrequested_count": len(unrequested),
    }
    problems = (
        [f"{len(unrequested)} orders reached the broker with no client request running for them"]
        if (unrequested)
        else []
    )
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"{len(firsts)} orders, each first sent while a request for its intent was running",
    )

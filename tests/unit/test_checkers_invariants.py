"""The invariants of any run (chaos_lab/scenarios/checks.py INVARIANTS): no order without a client request
running for it, no new order while the kill switch (the operator's or the engine's own) is on, a balance read
before every order. Each passes with nothing to judge and fails on the planted violation it exists for."""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

from chaos_lab.checkers import CHECKERS, balance_fresh, kill_switch_honoured, no_unrequested_orders
from chaos_lab.explore.render import checkers_for
from chaos_lab.models import BrokerAttempt, Observation, ReachEvent
from chaos_lab.scenarios.catalog import SCENARIOS
from chaos_lab.scenarios.checks import CORE, INVARIANTS
from chaos_lab.synthetic import ObservationBuilder, inject_value


def _late_order(b: ObservationBuilder, intent_id: UUID, after_s: float, qty: float = 1.0) -> None:
    """The broker receives (and fills) this intent's first order `after_s` after now, on its own clock."""
    b.broker_order("SOLAT-" + intent_id.hex, "EURUSD", "BUY", qty)
    last = b.attempts[-1]
    b.attempts[-1] = last.model_copy(update={"received_at": last.received_at + timedelta(seconds=after_s)})


def _unknown(b: ObservationBuilder, answered: bool = True) -> UUID:
    """A signal whose order never reached the broker: the engine answered 202, or the client gave up."""
    if answered:
        return b.signal(outcome="info", status=202, broker=False)
    intent_id = uuid.uuid4()
    b.history.record("workload", "invoke", "signal", intent_id=intent_id, value={"symbol": "EURUSD"})
    b.history.record("workload", "info", "signal", intent_id=intent_id, reason="ReadTimeout", latency=5.0)
    return intent_id


def _kill(b: ObservationBuilder, signal: str = "SIGKILL") -> None:
    value = inject_value("kill", signal=signal)
    b.history.record("nemesis", "invoke", "inject", fault="engine-killed", value=value)
    b.history.record("nemesis", "ok", "inject", fault="engine-killed", value={**value, "result": {}})


# -- no_unrequested_orders


def test_orders_placed_by_their_requests_pass() -> None:
    b = ObservationBuilder()
    for _ in range(3):
        b.signal()
    verdict = no_unrequested_orders.check(b.build())
    assert verdict.ok, verdict
    assert verdict.evidence["orders_judged"] == 3


def test_no_order_is_nothing_to_judge_and_passes() -> None:
    b = ObservationBuilder()
    b.signal(outcome="fail", ledger=False, broker=False)
    verdict = no_unrequested_orders.check(b.build())
    assert verdict.ok and "nothing to judge" in verdict.summary


def test_an_order_sent_after_the_engine_answered_unknown_is_flagged() -> None:
    """Start-up reconcile sending an intent the engine had answered 202 (unknown) long before."""
    b = ObservationBuilder()
    b.signal()
    intent = _unknown(b)
    _late_order(b, intent, after_s=5.0)
    verdict = no_unrequested_orders.check(b.build())
    assert not verdict.ok
    assert verdict.evidence["unrequested_count"] == 1
    assert "SOLAT-" + intent.hex in verdict.evidence["unrequested"][0]
    assert "after the engine was done" in verdict.evidence["unrequested"][0]


def test_an_order_for_an_intent_nobody_sent_is_flagged() -> None:
    b = ObservationBuilder()
    b.signal()
    b.broker_order("SOLAT-" + uuid.uuid4().hex, "EURUSD", "BUY", 1.0)
    b.broker_order("SOLAT-" + uuid.uuid4().hex + "-retry1", "EURUSD", "BUY", 1.0)  # a fresh id: no intent
    verdict = no_unrequested_orders.check(b.build())
    assert not verdict.ok and verdict.evidence["unrequested_count"] == 2
    assert all("no request for its intent" in u for u in verdict.evidence["unrequested"])


def test_a_request_the_client_gave_up_on_may_still_place_its_order_later() -> None:
    """A frozen engine sends the order of a request whose client timed out: that request is still running."""
    b = ObservationBuilder()
    intent = _unknown(b, answered=False)
    _late_order(b, intent, after_s=5.0)
    assert no_unrequested_orders.check(b.build()).ok


def test_but_not_after_its_engine_process_was_killed() -> None:
    b = ObservationBuilder()
    intent = _unknown(b, answered=False)
    _kill(b)
    _late_order(b, intent, after_s=5.0)  # the restarted engine sent it on its own
    assert not no_unrequested_orders.check(b.build()).ok
    b2 = ObservationBuilder()
    intent = _unknown(b2, answered=False)
    _kill(b2, signal="SIGTERM")  # graceful: in-flight requests may finish, so it proves nothing
    _late_order(b2, intent, after_s=5.0)
    assert no_unrequested_orders.check(b2.build()).ok


def test_a_retry_of_the_intent_places_its_order_legitimately() -> None:
    b = ObservationBuilder()
    intent = _unknown(b)
    b.history.record("workload", "invoke", "signal", intent_id=intent, value={"symbol": "EURUSD"})
    b.broker_order("SOLAT-" + intent.hex, "EURUSD", "BUY", 1.0)
    b.history.record("workload", "ok", "signal", intent_id=intent, status_code=200, latency=0.1)
    _late_order(b, uuid.uuid4(), after_s=0.0)  # and one nobody asked for
    b.attempts.pop()
    b.orders.pop()
    assert no_unrequested_orders.check(b.build()).ok


def test_a_latency_toxic_widens_the_slack() -> None:
    b = ObservationBuilder()
    value = inject_value("toxic", type="latency", attributes={"latency": 4000, "jitter": 500})
    b.history.record("nemesis", "ok", "inject", fault="link", value=value)
    intent = b.signal(outcome="info", status=202, broker=False)
    _late_order(b, intent, after_s=4.0)  # the request sat in the toxic longer than the engine waited
    verdict = no_unrequested_orders.check(b.build())
    assert verdict.ok and verdict.evidence["slack_s"] == 5.5


# -- kill_switch_honoured, generalised


def _activate(b: ObservationBuilder) -> None:
    b.history.record("setup", "invoke", "kill_switch_activate", value={"reason": "halt"})
    b.history.record("setup", "ok", "kill_switch_activate", status_code=200)


def _trip(obs: Observation, t: float, cause: str = "position_drift") -> Observation:
    obs.reach = [ReachEvent(name="kill_switch_tripped", time=t, source="engine", fields={"cause": cause})]
    return obs


def test_a_reconcile_send_while_the_operator_switch_is_on_is_flagged() -> None:
    """The intent's request was answered before the activation; its order reaches the broker while on."""
    b = ObservationBuilder()
    intent = _unknown(b)
    _activate(b)
    _late_order(b, intent, after_s=3.0)
    obs = b.build()
    last = obs.history[-1]  # the history goes on past the late order (the probes of the recover phase)
    obs.history.append(last.model_copy(update={"index": last.index + 1, "time": last.time + 10.0}))
    verdict = kill_switch_honoured.check(obs)
    assert not verdict.ok
    assert "no request running" in verdict.evidence["reached_broker_while_on"][0]


def test_a_request_still_running_when_the_switch_went_on_may_land_after_it() -> None:
    b = ObservationBuilder()
    intent = uuid.uuid4()
    b.history.record("workload", "invoke", "signal", intent_id=intent, value={"symbol": "EURUSD"})
    _activate(b)
    b.broker_order("SOLAT-" + intent.hex, "EURUSD", "BUY", 1.0)
    b.history.record("workload", "ok", "signal", intent_id=intent, status_code=200, latency=0.2)
    assert kill_switch_honoured.check(b.build()).ok


def test_the_engines_own_trip_is_a_window_too() -> None:
    b = ObservationBuilder()
    b.signal()
    tripped_at = b.history.now()
    leaked = b.signal()  # accepted and sent after the engine tripped its own switch (position drift)
    obs = _trip(b.build(), tripped_at)
    verdict = kill_switch_honoured.check(obs, require_activation=False)
    assert not verdict.ok
    assert verdict.evidence["accepted_while_on"] == [str(leaked)]
    # the operator's activation shows as a trip too: it is judged from the history, not twice
    ok = ObservationBuilder()
    ok.signal()
    assert kill_switch_honoured.check(
        _trip(ok.build(), ok.history.now(), cause="operator"), require_activation=False
    ).ok


def test_never_on_is_nothing_to_judge() -> None:
    b = ObservationBuilder()
    b.signal()
    verdict = kill_switch_honoured.check(b.build(), require_activation=False)
    assert verdict.ok and "nothing to judge" in verdict.summary


# -- balance_fresh with the engine's own limit


def test_balance_fresh_passes_a_run_without_orders_when_orders_are_not_required() -> None:
    b = ObservationBuilder()
    b.signal(outcome="fail", ledger=False, broker=False)
    assert not balance_fresh.check(b.build()).ok  # the clock scenarios still require orders
    verdict = balance_fresh.check(b.build(), require_orders=False)
    assert verdict.ok and "nothing to judge" in verdict.summary


def test_balance_fresh_flags_an_order_with_no_balance_read_before_it() -> None:
    b = ObservationBuilder()
    b.signal()
    obs = b.build()
    assert not balance_fresh.check(obs, require_orders=False).ok  # no GET /account at all
    first: BrokerAttempt = obs.broker_attempts[0]
    obs.broker_account_reads = [first.received_at - timedelta(seconds=10)]
    assert balance_fresh.check(obs, require_orders=False).ok


# -- where they run


def test_the_invariants_run_in_every_catalogue_scenario_and_every_explored_schedule() -> None:
    names = {c.name for c in INVARIANTS}
    assert names <= set(CHECKERS)
    assert names <= {c.name for c in CORE}
    for scenario in SCENARIOS:
        listed = [c.name for c in scenario.checkers]
        assert names <= set(listed), scenario.name
        assert len(listed) == len(set(listed)), f"{scenario.name}: a checker listed twice"
    for terminal in (False, True):
        specs = checkers_for({"kill"}, terminal=terminal)
        listed = [c.name for c in specs]
        assert names <= set(listed) and len(listed) == len(set(listed))

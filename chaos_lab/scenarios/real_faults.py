"""Scenarios for the faults real engines meet that a full tmpfs cannot make: failed fsync/write
with free disk (libfiu), wall-clock steps (libfaketime), CPU starvation and an OOM kill (cgroup limits), a
pause past the client's timeout, and a broker that commits the order and then fails. Registered in
catalog.py with the other tiers."""

from __future__ import annotations

from functools import partial
from typing import Any

from chaos_lab.models import Goal
from chaos_lab.scenarios.checks import AVAILABLE, _c
from chaos_lab.scenarios.checks import CORE as BASE_CORE
from chaos_lab.scenarios.model import (
    AwaitBurst,
    BrokerConfig,
    Burst,
    FloatRange,
    Heal,
    Inject,
    IntRange,
    Scenario,
    Sleep,
    WaitEngine,
    WaitOps,
)
from chaos_lab.scenarios.shapes import during_burst, slow_broker

CORE = (*BASE_CORE, _c("no_false_rejects"))
# Only where staying answerable is the point (OOM, pause): its 1 s probe bound is sensitive to host load, and
# the other scenarios judge correctness, which load must not change.
HEALTH = _c("health_truth")
BALANCE_SLACK = 1.5  # s: refresh -> intent record -> order at the broker, on a loaded host
SHORT_BALANCE_AGE = 3.0  # s: lets a run of seconds judge the balance-age rule (the engine's default is 300)
THAW_SLOW_S = 2.0  # s the broker stays slow after a pause is healed: covers the queued first attempts only
FAST_CLOCK_BROKER_TIMEOUT = 10.0  # s, engine's broker read timeout in clock-runs-fast (see there)


def _broker(name: str, mode: str, description: str, probability: float, **extra: Any) -> Scenario:
    return Scenario(
        name=name,
        tier=2,
        description=description,
        method=(
            Burst(count=3),
            Inject(
                name="ambiguous-broker",
                kind="broker_ambiguity",
                params={"mode": mode, "probability": probability, "seed": 7, **extra},
            ),
            Burst(count=16, concurrency=4, retry_unknown=2),
            Heal(name="ambiguous-broker"),
        ),
        checkers=(*CORE[:-1], _c("no_false_rejects", require_knob_hits=True)),
    )


def _clock(
    name: str,
    kind: str,
    params: dict[str, Any],
    description: str,
    idle_s: float,
    broker_delay_s: float = 0.0,
    engine_config: dict[str, Any] | None = None,
) -> Scenario:
    """`broker_delay_s`: the broker answers that late while the clock is wrong, so a duration the engine
    measures with the wall clock (instead of the monotonic one) is off by seconds, not milliseconds."""
    slow, prompt = slow_broker(broker_delay_s)
    return Scenario(
        name=name,
        tier=3,
        description=description,
        engine_config={"balance_max_age": SHORT_BALANCE_AGE, **(engine_config or {})},
        method=(
            Burst(count=5),
            Inject(name="clock", kind=kind, params=params),
            *slow,
            Sleep(seconds=idle_s),  # idle past the balance limit: the next order must refresh it first
            Burst(count=6, interval_s=0.1),
            *prompt,
            Heal(name="clock"),
            Burst(count=3),
        ),
        rollback=prompt,
        checkers=(
            *(c for c in CORE if c.name != "balance_fresh"),  # judged here with the scenario's short limit
            _c("clock_safety"),
            _c("balance_fresh", max_age_s=SHORT_BALANCE_AGE, slack_s=BALANCE_SLACK),
        ),
    )


# Two clients that retry in-doubt signals, as real clients do: a refused or unknown order is resent.
_mid_burst = partial(during_burst, concurrency=2, retry_unknown=2)


REAL_FAULT_SCENARIOS: tuple[Scenario, ...] = (
    # ---- tier 1: the disk says EIO with free space
    Scenario(
        name="fsync-eio-mid-burst",
        tier=1,
        description="Every fsync fails with EIO (libfiu) for 1-2 s mid-burst, disk free: orders refused "
        "(507, stage ledger), /health degraded `ledger`, trading resumes by itself, nothing lost or doubled.",
        method=_mid_burst("fsync-eio", "fsync_eio", hold=FloatRange(lo=1.0, hi=2.0)),
        restart_on_recover=False,
        checkers=(*CORE, _c("fsync_fatal"), HEALTH),
    ),
    Scenario(
        name="fsync-eio-once",
        tier=1,
        description="One fsync fails with EIO mid-burst, the next succeed: the covered order must be "
        "refused (never retried-and-acknowledged), then trading goes on.",
        method=_mid_burst("fsync-eio-once", "fsync_eio_once", hold=FloatRange(lo=0.5, hi=1.0)),
        restart_on_recover=False,
        checkers=(*CORE, _c("fsync_fatal")),
    ),
    Scenario(
        name="write-eio-while-trading",
        tier=1,
        description="write(2) fails with EIO for ~1.5 s between orders, then signals keep coming (every "
        "write of the engine: libfiu cannot scope it to one file): each is refused (507), /health must "
        "say `ledger` meanwhile, the engine survives and resumes. No order is in flight when it strikes, so "
        "no broker outcome is left unrecorded to make /health degraded for another reason.",
        method=(
            Burst(count=5),
            Inject(name="write-eio", kind="write_eio"),
            Burst(count=8, interval_s=0.1),
            Sleep(seconds=FloatRange(lo=0.4, hi=0.6)),
            Heal(name="write-eio"),
            Burst(count=5),
        ),
        restart_on_recover=False,
        checkers=(*CORE, _c("fsync_fatal"), HEALTH),
    ),
    # ---- tier 2: the broker commits, then fails
    _broker(
        "broker-commit-then-5xx",
        "commit_then_5xx",
        "The broker fills some orders and answers 503: `unknown`, resolved as filled, never rejected.",
        0.4,
    ),
    _broker(
        "broker-commit-then-drop",
        "commit_then_drop",
        "The broker fills some orders and drops the connection mid-answer: resolved as filled.",
        0.4,
    ),
    _broker(
        "broker-commit-then-late",
        "commit_then_late",
        "The broker fills some orders and answers after the engine's timeout: resolved as filled.",
        0.25,
    ),
    _broker(
        "broker-partial-fill",
        "partial_fill",
        "The broker fills only part of some orders (IOC): the ledger and positions hold what was filled.",
        0.5,
    ),
    # ---- tier 3: clocks and CPU
    # ---- tier 3: the balance limit across a broker outage (a refresh that failed refreshed nothing)
    Scenario(
        name="balance-stale-across-outage",
        tier=3,
        description=(
            f"The broker link is down for 5 s, longer than a {SHORT_BALANCE_AGE:g} s balance limit, while "
            "two clients keep sending: the engine refuses once its balance is stale and cannot be "
            "refreshed, and after the heal its first order reads a fresh balance before it goes out."
        ),
        engine_config={"balance_max_age": SHORT_BALANCE_AGE},
        method=(
            Burst(count=4),
            # 17 signals per client 0.45 s apart: ~7.6 s, so the burst goes on ~2 s past the heal
            Burst(count=34, interval_s=0.45, background=True, concurrency=2),
            WaitOps(count=4),
            Inject(name="link-down", kind="proxy_down"),
            Sleep(seconds=5.0),  # past the limit from the last balance read before the outage
            Heal(name="link-down"),
            AwaitBurst(),
        ),
        goals=(
            Goal(events=("balance_stale_refused",), during="link-down",
                 why="the balance went stale while the broker could not be asked: a refresh failed"),
        ),
        checkers=(
            *(c for c in CORE if c.name != "balance_fresh"),  # judged here with the scenario's short limit
            _c("balance_fresh", max_age_s=SHORT_BALANCE_AGE, slack_s=BALANCE_SLACK),
            AVAILABLE,
        ),
    ),
    _clock(
        "clock-jump-forward",
        "clock_step",
        {"offset_s": 301.0},
        "The wall clock jumps 301 s ahead (past the 300 s balance limit): the ledger keeps seq order and "
        "accepts records, balances are judged by the engine's monotonic clock.",
        0.5,
    ),
    _clock(
        "clock-step-back",
        "clock_step",
        {"offset_s": -400.0},
        "The wall clock steps 400 s back and the engine idles past its balance limit: the next order "
        "must refresh the balance (a wall-clock age never expires), ledger timestamps go back, seq rules.",
        SHORT_BALANCE_AGE + 2.0,  # past limit + slack: a wall-clock age is certain to be caught
    ),
    _clock(
        "clock-runs-fast",
        "clock_fast",
        {"rate": 10.0},
        "The wall clock runs 10x fast while the broker answers in 0.25 s (2.5 s by the fast clock): ledger, "
        "balance rules and broker outcomes unaffected.",
        0.5,
        broker_delay_s=0.25,
        # libfaketime's rate mode also runs the engine's socket timeouts 10x fast (a real fast clock does not:
        # poll timeouts are monotonic): a 10 s broker timeout is the usual ~1 s while the fault is on.
        engine_config={"broker_read_timeout": FAST_CLOCK_BROKER_TIMEOUT},
    ),
    Scenario(
        name="cpu-starved-burst",
        tier=3,
        description="The engine's cgroup gets 5% of a CPU in 1 s periods (it stalls ~0.95 s each second) for "
        "2-3 s mid-burst, six clients sending and the broker answering in 0.2 s: slow, nothing lost, no "
        "filled order called rejected.",
        # What this must catch is work the engine abandons when it runs late (a latency budget that answers
        # `rejected` while the order goes out), so the stall has to land while an order is in flight inside
        # the engine. With the default 0.1 s period the stalls were 95 ms each and fell mostly on requests
        # queued at the HTTP layer: a 0.5 s budget bug showed in 6 of 8 runs under stress-ng (and was missed
        # once in CI). 1 s periods stall whatever is in flight for ~0.95 s, and a broker answering in 0.2 s
        # keeps orders in flight: 18 of 18 under stress-ng (the correct engine passed 10 of 10). Each order
        # in flight at a stall is one chance: at the thaw the budget's timer and the broker's answer race, so
        # six clients (not three: missed once in a clean-clone run under load) give each run more chances.
        method=_mid_burst(
            "cpu-starved",
            "cpu_starve",
            {"cpu_fraction": 0.05, "period_s": 1.0},
            hold=FloatRange(lo=2.0, hi=3.0),
            concurrency=6,
            broker_delay_s=0.2,
        ),
        rollback=(BrokerConfig(),),
        # Slow is the point: whether a 5 % engine answers /health within 1 s depends on the host's own load
        # (a clean engine missed 2 probes on a busy CI host), so only the recovery bound is judged here.
        checkers=(*CORE, _c("availability", recover_within_s=20.0, judge_probes=False)),
        # Whether a 5 % engine answers any signal inside a 2-3 s window depends on the host's load too: on a
        # loaded clean-clone CI run it answered none (32 outside it), and the run was vacuous. A second run is
        # allowed to meet the goals; a failed checker in either run is a failure.
        reach_attempts=2,
    ),
    # ---- tier 4: killed by the kernel, frozen, crashed after EIO
    Scenario(
        name="oom-kill-mid-burst",
        tier=4,
        description="A memory cap ends in a kernel OOM kill of the engine mid-burst (State.OOMKilled) while "
        "orders are in flight (the broker answers 2.5 s late): restart, replay, reconcile; nothing lost or "
        "doubled.",
        method=(
            Burst(count=20, interval_s=0.05, background=True, concurrency=2),
            WaitOps(count=IntRange(lo=3, hi=8)),
            # Committed orders whose answer the kill will cut off. The kill lands 1-1.5 s after the inject
            # starts (the cap is measured, set, then filled); the clients send their next orders together
            # once the previous answers arrive. With a 1.5 s delay and a 0.5 s sleep the kill fell just
            # after they did, before those orders reached the broker, in 1 run of 3: nothing was in doubt.
            # A 2.5 s delay (under the engine's 3 s read timeout) and no sleep put it mid-wait.
            BrokerConfig(order_delay_s=2.5),
            Inject(name="oom", kind="memory_oom"),
            BrokerConfig(order_delay_s=0.0),
            Heal(name="oom"),
            WaitEngine(),
            AwaitBurst(),
        ),
        rollback=(BrokerConfig(),),
        restart_on_recover=False,
        checkers=(*CORE, AVAILABLE),
    ),
    Scenario(
        name="pause-past-client-timeout",
        tier=4,
        description="The engine is frozen (cgroup freezer) for longer than the client's 5 s timeout "
        "mid-burst: in-doubt signals, retried under the same intent id, never doubled. Clients pause 0.3 s "
        "between signals, so a signal sent into the freeze is queued there together with its retry, and the "
        "broker answers in 1 s from the freeze to 2 s after the thaw: a retry meets its first attempt "
        "still at the broker.",
        method=(
            Burst(count=18, interval_s=0.3, background=True, concurrency=3, retry_unknown=2),
            WaitOps(count=IntRange(lo=3, hi=6)),
            Inject(name="paused", kind="pause"),
            BrokerConfig(order_delay_s=1.0),
            Sleep(seconds=FloatRange(lo=5.5, hi=6.5)),
            Heal(name="paused"),
            Sleep(seconds=THAW_SLOW_S),  # the thawed first attempts are at the broker; then full speed
            BrokerConfig(),
            AwaitBurst(),
        ),
        rollback=(BrokerConfig(),),
        checkers=(*CORE, AVAILABLE),
    ),
    Scenario(
        name="fsync-eio-then-crash",
        tier=4,
        description="fsync fails with EIO mid-burst, the engine is SIGKILLed while it fails, restarts with "
        "healthy syncs: what it refused stays refused, nothing acknowledged is lost.",
        method=(
            # 0.1 s apart: refused signals answer at once, and with 0.05 s the burst was over before the kill
            # (a kill of an idle engine: its reach goal missed).
            Burst(count=40, interval_s=0.1, background=True, concurrency=2, retry_unknown=2),
            WaitOps(count=IntRange(lo=3, hi=8)),
            Inject(name="fsync-eio", kind="fsync_eio"),
            Sleep(seconds=FloatRange(lo=0.8, hi=1.5)),
            Inject(name="engine-killed", kind="kill", params={"signal": "SIGKILL"}),
            Heal(name="fsync-eio"),
            Heal(name="engine-killed"),
            WaitEngine(),
            AwaitBurst(),
        ),
        restart_on_recover=False,
        checkers=(*CORE, _c("fsync_fatal"), HEALTH),
    ),
)

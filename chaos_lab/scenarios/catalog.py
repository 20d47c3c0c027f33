"""The scenario catalogue, tiers 1-4. Each scenario is short (a burst of 20-40 signals, faults of 1-3
s) so all
tiers finish in a few minutes; every wait is bounded.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from chaos_lab.models import Goal
from chaos_lab.scenarios.checks import AVAILABLE, CORE, INVARIANTS, _c
from chaos_lab.scenarios.file_format import load_scenario
from chaos_lab.scenarios.model import (
    ActivateKillSwitch,
    AwaitBurst,
    BrokerConfig,
    Burst,
    FloatRange,
    Heal,
    Inject,
    IntRange,
    ObserveKillSwitch,
    PutBars,
    ReadBars,
    ResetKillSwitch,
    RetryUnknown,
    SampleResources,
    Scenario,
    Sleep,
    Step,
    WaitEngine,
    WaitLedgerBytes,
    WaitOps,
)
from chaos_lab.scenarios.real_faults import REAL_FAULT_SCENARIOS
from chaos_lab.scenarios.shapes import during_burst

SNAPSHOT_INTERVAL_S = 0.5  # s between snapshots where snapshots are the target (the engine's default: 5 s)


def _with_engine_stopped(*file_faults: Inject) -> tuple[Step, ...]:
    """Stop the engine, damage its files, start it again: what a crash plus a bad disk leaves behind."""
    return (
        Inject(name="engine-stopped", kind="stop"),
        *file_faults,
        *(Heal(name=f.name) for f in file_faults),
        Heal(name="engine-stopped"),
    )


ENDURANCE_ROUNDS, ENDURANCE_BURST = 8, 80  # bursts between resource samples, after a warm-up of 50


def _endurance() -> tuple[Step, ...]:
    """A warm-up, then rounds of signals with a resource sample after each, then the engine left idle:
    a sample after it settled and one 3 s later (resources_bounded, idle_quiet). One client: the lab's
    engine answers 58 signals/s to one, 21/s to four (libfaketime locks each clock read: lab-stack.md)."""
    rounds = [(Burst(count=ENDURANCE_BURST), SampleResources()) for _ in range(ENDURANCE_ROUNDS)]
    return (
        Burst(count=50),
        SampleResources(),
        *(step for pair in rounds for step in pair),
        Sleep(seconds=1.5),
        SampleResources(),
        Sleep(seconds=3.0),
        SampleResources(),
    )


def _network(name: str, description: str, toxic: dict[str, Any] | None) -> Scenario:
    kind, params = ("proxy_down", {}) if toxic is None else ("toxic", toxic)
    return Scenario(
        name=name,
        tier=3,
        description=description,
        method=during_burst("link", kind, params, count=32, concurrency=4, interval_s=0.2),
        # A sick link is where an engine is tempted to give up on an order that is still going out.
        checkers=(*CORE, _c("no_false_rejects"), AVAILABLE),
    )


SCENARIOS: tuple[Scenario, ...] = (
    # ---- tier 1: disks and files
    Scenario(
        name="disk-full-during-burst",
        tier=1,
        description=(
            "The data tmpfs fills to the last byte mid-burst: signals must get 507, nothing "
            "unrecorded may reach the broker, and trading resumes after the disk is freed."
        ),
        method=during_burst("disk-full", "disk_fill", {"leave_bytes": 0}, concurrency=2),
        checkers=(*CORE, _c("fail_closed", min_ops_in_window=1), AVAILABLE),
    ),
    Scenario(
        name="disk-full-on-snapshot",
        tier=1,
        description=(
            "The disk fills to the last byte mid-burst, right after positions changed, and stays full across "
            "several snapshot intervals: snapshot writes fail with ENOSPC, /health says so, nothing "
            "unrecorded reaches the broker, and once the disk is freed the engine writes its snapshot again."
        ),
        engine_config={"snapshot_interval": SNAPSHOT_INTERVAL_S},
        method=(
            Burst(count=40, interval_s=0.1, background=True),
            # Just past a 4 KiB page: on the full tmpfs the ledger's last page still takes a few records, so
            # positions change (a snapshot is due) while no new file, the snapshot's, can be created.
            WaitLedgerBytes(bytes=2 * 4096 + 1),
            Inject(name="disk-full", kind="disk_fill", params={"leave_bytes": 0}),
            Sleep(seconds=FloatRange(lo=1.0, hi=1.5)),  # 2-3 snapshot intervals
            Heal(name="disk-full"),
            AwaitBurst(),
            Sleep(seconds=SNAPSHOT_INTERVAL_S * 3),  # the engine runs on: is its snapshot written again?
        ),
        goals=(
            Goal(events=("snapshot_write_failed",), during="disk-full", where={"errno": errno.ENOSPC},
                 why="a snapshot write failed because the disk was full"),
            Goal(events=("signal_answered",), during="disk-full", where={"outcome": "fail"},
                 why="a signal was refused while the disk was full"),
        ),
        checkers=(
            *CORE,
            _c("fail_closed", min_ops_in_window=1),
            _c("snapshots_resume", within_s=SNAPSHOT_INTERVAL_S * 3),
            _c("health_truth"),
            AVAILABLE,
        ),
    ),
    Scenario(
        name="torn-ledger-tail",
        tier=1,
        description="The last ledger record is cut mid-line while the engine is down: on start it must drop "
        "exactly the torn bytes, write a recovery record naming them, and reconcile.",
        method=(
            Burst(count=10),
            *_with_engine_stopped(
                Inject(
                    name="torn-tail",
                    kind="tear_ledger_tail",
                    random_params={"fraction": FloatRange(lo=0.05, hi=0.95)},
                )
            ),
            WaitEngine(),
        ),
        restart_on_recover=False,
        checkers=(*CORE, AVAILABLE),
    ),
    Scenario(
        name="corrupt-ledger-middle",
        tier=1,
        description=(
            "One bit flips in a ledger record in the middle: the engine must refuse to trade, "
            "with the kill switch naming the offset, and leave the file untouched for forensics."
        ),
        method=(
            Burst(count=10),
            *_with_engine_stopped(
                Inject(
                    name="flipped-byte",
                    kind="flip_ledger_byte",
                    random_params={
                        "record_fraction": FloatRange(lo=0.0, hi=0.99),
                        "byte_fraction": FloatRange(lo=0.0, hi=0.99),
                    },
                )
            ),
            WaitEngine(ready=False),
        ),
        restart_on_recover=False,
        expect_ready=False,
        checkers=(
            _c("ledger_integrity", expect_corruption=True),
            _c("refuses_to_trade", reason_names_offset=True),
            _c("no_duplicates"),
            *INVARIANTS,
            AVAILABLE,
        ),
    ),
    Scenario(
        name="truncated-parquet",
        tier=1,
        description=(
            "A bar file loses its footer: reading it must answer a 4xx naming the path and "
            "offset, and trading is unaffected."
        ),
        method=(
            PutBars(),
            Burst(count=5),
            *_with_engine_stopped(
                Inject(
                    name="truncated",
                    kind="truncate_parquet",
                    params={"symbol": "EURUSD", "timeframe": "M1"},
                    random_params={"fraction": FloatRange(lo=0.2, hi=0.9)},
                )
            ),
            WaitEngine(),
            ReadBars(),
        ),
        restart_on_recover=False,
        checkers=(_c("corrupt_file_reported"), *CORE, AVAILABLE),
    ),
    # ---- tier 2: engine vs broker state
    Scenario(
        name="ack-lost-between-submit-and-record",
        tier=2,
        description=(
            "The broker fills an order but answers 2 s late; the engine is SIGKILLed in between. "
            "After restart the order must be reconciled into the ledger, not lost and not sent "
            "twice."
        ),
        method=(
            Burst(count=5),
            BrokerConfig(order_delay_s=2.0),
            Burst(count=1, background=True),
            Sleep(seconds=FloatRange(lo=0.5, hi=1.2)),
            Inject(name="engine-killed", kind="kill", params={"signal": "SIGKILL"}),
            AwaitBurst(timeout_s=10),
            BrokerConfig(order_delay_s=0.0),
            Heal(name="engine-killed"),
            WaitEngine(),
        ),
        rollback=(BrokerConfig(),),
        restart_on_recover=False,
        checkers=(*CORE, AVAILABLE),
    ),
    Scenario(
        name="retry-after-timeout",
        tier=2,
        description=(
            "Broker answers never arrive (timeout toxic): the engine reports `unknown`; after "
            "healing, the client retries the same intent ids and must get the original outcome, "
            "never a second order."
        ),
        method=(
            Burst(count=5),
            Inject(
                name="answers-lost",
                kind="toxic",
                params={"type": "timeout", "stream": "downstream", "attributes": {"timeout": 0}},
            ),
            Burst(count=2),
            Heal(name="answers-lost"),
            RetryUnknown(),
        ),
        checkers=(*CORE, AVAILABLE),
    ),
    Scenario(
        name="halt-while-in-doubt",
        tier=2,
        description=(
            "Orders never reach the broker (an upstream timeout toxic closes each request's connection): the "
            "engine answers `unknown`; the operator halts trading before the clients retry. Every retry is "
            "refused while the switch is on, none reaches the broker, and trading resumes after the reset."
        ),
        method=(
            Burst(count=5),
            Inject(
                name="requests-lost",
                kind="toxic",
                params={"type": "timeout", "stream": "upstream", "attributes": {"timeout": 200}},
            ),
            Burst(count=2),
            Heal(name="requests-lost"),
            ActivateKillSwitch(reason="chaos: halt while in doubt"),
            RetryUnknown(),
            ResetKillSwitch(),
            Burst(count=3),
        ),
        goals=(
            Goal(events=("retry_lookup",), where={"result": "not_found"},
                 why="a retry asked the broker about an order it never got: the path that would re-send it"),
        ),
        # A retry is a new request for an old intent: the operator's halt holds for it as for a new signal.
        checkers=(
            *(c for c in CORE if c.name != "kill_switch_honoured"),
            _c("kill_switch_honoured"),
            AVAILABLE,
        ),
    ),
    Scenario(
        name="kill-switch-file-vs-memory",
        tier=2,
        description=(
            "With the kill switch active, its file is corrupted under the running engine: memory "
            "must keep refusing, and after a crash the unreadable file must fail closed (still "
            "active)."
        ),
        method=(
            Burst(count=5),
            ActivateKillSwitch(reason="chaos: operator halt"),
            ObserveKillSwitch(),
            Inject(name="ks-file", kind="corrupt_kill_switch"),
            Burst(count=3),
            Inject(name="engine-killed", kind="kill", params={"signal": "SIGKILL"}),
            Heal(name="engine-killed"),
            Heal(name="ks-file"),
            WaitEngine(ready=False),
        ),
        restart_on_recover=False,
        expect_ready=False,
        goals=(
            Goal(events=("kill_switch_unreadable",), why="the restarted engine met the corrupt switch file"),
        ),
        checkers=(_c("kill_switch_persisted", same_reason=False), _c("refuses_to_trade"), *CORE, AVAILABLE),
    ),
    # ---- tier 3: a sick network between engine and broker
    _network(
        "broker-latency-2s",
        "Every broker answer is 2 s (+-200 ms) late: orders complete, nothing doubles.",
        {"type": "latency", "stream": "downstream", "attributes": {"latency": 2000, "jitter": 200}},
    ),
    _network(
        "broker-timeout",
        "Broker answers never arrive: `unknown` outcomes, reconciled after restart.",
        {"type": "timeout", "stream": "downstream", "attributes": {"timeout": 0}},
    ),
    _network(
        "broker-reset-peer",
        "Connections to the broker are reset: no order may be lost or doubled.",
        {"type": "reset_peer", "stream": "upstream", "attributes": {"timeout": 0}},
    ),
    _network("broker-down-then-up", "The broker link disappears (proxy disabled), then comes back.", None),
    _network(
        "slicer",
        "Broker traffic is sliced into 8-byte pieces 2 ms apart: slow but correct.",
        {
            "type": "slicer",
            "stream": "downstream",
            "attributes": {"average_size": 8, "size_variation": 4, "delay": 2000},
        },
    ),
    # ---- tier 4: crash and recovery
    Scenario(
        name="sigkill-mid-burst",
        tier=4,
        description="SIGKILL of the engine at a seed-chosen point of a burst; restart, replay, reconcile.",
        # Snapshots every 0.2 s: the kill leaves one behind the ledger in most runs (at the default 5 s none
        # exists yet), the state a recovery must not trust (snapshot_consistent).
        engine_config={"snapshot_interval": 0.2},
        method=(
            Burst(count=30, interval_s=0.1, background=True, concurrency=2),
            WaitOps(count=IntRange(lo=3, hi=15)),
            Inject(name="engine-killed", kind="kill", params={"signal": "SIGKILL"}),
            Sleep(seconds=FloatRange(lo=0.1, hi=0.5)),
            Heal(name="engine-killed"),
            WaitEngine(),
            AwaitBurst(),
        ),
        restart_on_recover=False,
        seeds=(1, 2, 3),
        checkers=(*CORE, AVAILABLE),
    ),
    Scenario(
        name="kill-switch-survives-sigkill",
        tier=4,
        description="An activated kill switch must still be active, with the same reason, after SIGKILL.",
        method=(
            Burst(count=5),
            ActivateKillSwitch(reason="chaos: halt before crash"),
            ObserveKillSwitch(),
            Inject(name="engine-killed", kind="kill", params={"signal": "SIGKILL"}),
            Heal(name="engine-killed"),
            WaitEngine(ready=False),
        ),
        restart_on_recover=False,
        expect_ready=False,
        goals=(
            Goal(events=("kill_switch_restored",), where={"active": True},
                 why="the engine killed with its kill switch on restored it from its file"),
        ),
        checkers=(_c("kill_switch_persisted"), _c("refuses_to_trade"), *CORE, AVAILABLE),
    ),
    Scenario(
        name="disk-full-then-crash-then-free",
        tier=4,
        description=(
            "The disk fills mid-burst, the engine is SIGKILLed while it is full, the disk is "
            "freed while it is down, and it restarts: no lost ack, no phantom, positions agree."
        ),
        method=(
            # 0.1 s apart: refused signals answer at once, and with 25 signals 0.05 s apart the burst was over
            # before the kill in 1 of 2 runs (a kill of an idle engine: its reach goal missed).
            Burst(count=40, interval_s=0.1, background=True, concurrency=2),
            WaitOps(count=IntRange(lo=3, hi=8)),
            Inject(name="disk-full", kind="disk_fill", params={"leave_bytes": 0}),
            Sleep(seconds=FloatRange(lo=0.5, hi=1.5)),
            Inject(name="engine-killed", kind="kill", params={"signal": "SIGKILL"}),
            Heal(name="disk-full"),
            Heal(name="engine-killed"),
            WaitEngine(),
            AwaitBurst(),
        ),
        restart_on_recover=False,
        checkers=(*CORE, _c("fail_closed"), AVAILABLE),
    ),
    Scenario(
        name="endurance",
        tier=4,
        description=(
            f"{50 + ENDURANCE_BURST * ENDURANCE_ROUNDS} signals, snapshots every {SNAPSHOT_INTERVAL_S} s, "
            f"the engine's memory, threads, descriptors and files sampled after each {ENDURANCE_BURST}, "
            "then left idle: nothing grows with the signals, nothing is written while idle."
        ),
        method=_endurance(),
        engine_config={"snapshot_interval": SNAPSHOT_INTERVAL_S},
        goals=(
            Goal(events=("snapshot_written",), at_least=5,
                 why="the snapshotter ran through the load: its files and descriptors are counted too"),
        ),
        checkers=(*CORE, _c("resources_bounded", min_signals=400), _c("idle_quiet")),
    ),
)

SCENARIOS = SCENARIOS + REAL_FAULT_SCENARIOS  # syscall, clock, resource, broker-ambiguity faults
# A start from production's data (start_from): the shipped capture of a disk-full crash, kept as the incident
# file on-call would write, so the catalogue and the example are one scenario.
INCIDENTS = Path(__file__).resolve().parents[2] / "examples" / "incidents"
SCENARIOS = (*SCENARIOS, load_scenario(INCIDENTS / "restart-from-captured-crash.yaml"))

BY_NAME: dict[str, Scenario] = {s.name: s for s in SCENARIOS}


def select(tier: int | None = None, name: str | None = None) -> list[Scenario]:
    """Scenarios by tier and/or name; raises KeyError with a one-line message for an unknown one."""
    if name is not None and name not in BY_NAME:
        raise KeyError(f"unknown scenario {name!r} (see `chaos-lab list`)")
    if tier is not None and tier not in {s.tier for s in SCENARIOS}:
        raise KeyError(f"unknown tier {tier} (tiers: {sorted({s.tier for s in SCENARIOS})})")
    chosen = [s for s in SCENARIOS if (name is None or s.name == name) and (tier is None or s.tier == tier)]
    if not chosen:
        raise KeyError(f"scenario {name!r} is not in tier {tier}")
    return chosen
